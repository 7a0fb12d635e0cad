# Offline checks of the rendered policy statements and matching rules.

variables {
  function_id                 = "ocid1.fnfunc.oc1.eu-frankfurt-1.backupfunction"
  function_dynamic_group_id   = "ocid1.dynamicgroup.oc1..functiongroup"
  function_compartment_id     = "ocid1.compartment.oc1..functions"
  schedule_id                 = "ocid1.resourceschedule.oc1.eu-frankfurt-1.nightly"
  schedule_dynamic_group_id   = "ocid1.dynamicgroup.oc1..schedulegroup"
  source_vault_id             = "ocid1.vault.oc1.eu-frankfurt-1.sourcevault"
  source_vault_compartment_id = "ocid1.compartment.oc1..source"
  metrics_compartment_id      = "ocid1.compartment.oc1..source"
  targets = [
    {
      vault_id             = "ocid1.vault.oc1.eu-amsterdam-1.targetvault"
      vault_compartment_id = "ocid1.compartment.oc1..targetvaults"
      compartment_id       = "ocid1.compartment.oc1..targetkeys"
    },
  ]
}

run "matching_rules_name_one_resource" {
  command = plan

  assert {
    condition     = output.function_matching_rule == "ALL {resource.type = 'fnfunc', resource.id = 'ocid1.fnfunc.oc1.eu-frankfurt-1.backupfunction'}"
    error_message = "The function's matching rule does not match exactly the function."
  }

  assert {
    condition     = output.schedule_matching_rule == "ALL {resource.type = 'resourceschedule', resource.id = 'ocid1.resourceschedule.oc1.eu-frankfurt-1.nightly'}"
    error_message = "The schedule's matching rule does not match exactly the schedule."
  }
}

run "every_key_statement_names_a_vault" {
  command = plan

  assert {
    condition     = alltrue([for statement in output.function_statements : strcontains(statement, "target.vault.id = '") if strcontains(statement, " keys ")])
    error_message = "A statement on keys has no target.vault.id condition."
  }

  assert {
    condition     = length([for statement in output.function_statements : statement if strcontains(statement, "manage keys in compartment id ocid1.compartment.oc1..targetkeys")]) == 1
    error_message = "Key import is not granted in the target key compartment."
  }

  assert {
    condition     = length([for statement in output.function_statements : statement if strcontains(statement, "manage keys in compartment id ocid1.compartment.oc1..source")]) == 0
    error_message = "The function may manage keys in the source compartment."
  }
}

run "export_narrowed_to_key_list" {
  command = plan

  variables {
    key_ids = ["ocid1.key.oc1.eu-frankfurt-1.sourcevault.a", "ocid1.key.oc1.eu-frankfurt-1.sourcevault.b"]
  }

  assert {
    condition = contains(
      output.function_statements,
      "Allow dynamic-group id ocid1.dynamicgroup.oc1..functiongroup to use keys in compartment id ocid1.compartment.oc1..source where all {target.vault.id = 'ocid1.vault.oc1.eu-frankfurt-1.sourcevault', request.permission = 'KEY_EXPORT', any {target.key.id = 'ocid1.key.oc1.eu-frankfurt-1.sourcevault.a', target.key.id = 'ocid1.key.oc1.eu-frankfurt-1.sourcevault.b'}}",
    )
    error_message = "The export statement does not list the selected key OCIDs."
  }
}

run "metrics_limited_to_namespace" {
  command = plan

  assert {
    condition     = contains(output.function_statements, "Allow dynamic-group id ocid1.dynamicgroup.oc1..functiongroup to use metrics in compartment id ocid1.compartment.oc1..source where target.metrics.namespace = 'kms_key_backup'")
    error_message = "The metrics statement is missing or not limited to the namespace."
  }
}

run "no_metrics_statement_without_namespace" {
  command = plan

  variables {
    metrics_namespace = ""
  }

  assert {
    condition     = length([for statement in output.function_statements : statement if strcontains(statement, "metrics")]) == 0
    error_message = "A metrics statement was written although metrics are disabled."
  }
}

run "schedule_statement_names_its_group" {
  command = plan

  assert {
    condition     = output.schedule_statements == tolist(["Allow dynamic-group id ocid1.dynamicgroup.oc1..schedulegroup to use fn-invocation in compartment id ocid1.compartment.oc1..functions where request.permission = 'FN_INVOCATION'"])
    error_message = "The schedule's statement does not grant FN_INVOCATION to the schedule's dynamic group only."
  }
}

run "no_schedule_no_statement" {
  command = plan

  variables {
    schedule_id               = null
    schedule_dynamic_group_id = null
  }

  assert {
    condition     = length(output.schedule_statements) == 0
    error_message = "Schedule statements were written without a schedule."
  }

  assert {
    condition     = output.schedule_matching_rule == null
    error_message = "A schedule matching rule was written without a schedule."
  }
}

run "canary_off_adds_nothing" {
  command = plan

  assert {
    condition     = length([for statement in output.function_statements : statement if anytrue([for permission in ["KEY_CREATE", "KEY_ROTATE", "KEY_DELETE", "KEY_DISABLE", "KEY_ENCRYPT", "KEY_DECRYPT"] : strcontains(statement, permission)])]) == 0
    error_message = "A canary permission was granted although enable_canary is false."
  }
}

run "canary_on_narrowed_to_vaults" {
  command = plan

  variables {
    enable_canary = true
    targets = [
      {
        vault_id             = "ocid1.vault.oc1.eu-amsterdam-1.targetvault"
        vault_compartment_id = "ocid1.compartment.oc1..targetvaults"
        compartment_id       = "ocid1.compartment.oc1..targetkeys"
      },
      {
        vault_id             = "ocid1.vault.oc1.eu-stockholm-1.secondvault"
        vault_compartment_id = "ocid1.compartment.oc1..secondvaults"
        compartment_id       = "ocid1.compartment.oc1..secondkeys"
      },
    ]
  }

  assert {
    condition     = contains(output.function_statements, "Allow dynamic-group id ocid1.dynamicgroup.oc1..functiongroup to manage keys in compartment id ocid1.compartment.oc1..source where all {target.vault.id = 'ocid1.vault.oc1.eu-frankfurt-1.sourcevault', any {request.permission = 'KEY_CREATE', request.permission = 'KEY_ROTATE', request.permission = 'KEY_DELETE', request.permission = 'KEY_DISABLE', request.permission = 'KEY_ENCRYPT'}}")
    error_message = "The canary's source statement is missing or not narrowed to the source vault and its permissions."
  }

  assert {
    condition     = contains(output.function_statements, "Allow dynamic-group id ocid1.dynamicgroup.oc1..functiongroup to manage keys in compartment id ocid1.compartment.oc1..targetkeys where all {target.vault.id = 'ocid1.vault.oc1.eu-amsterdam-1.targetvault', any {request.permission = 'KEY_DELETE', request.permission = 'KEY_DISABLE', request.permission = 'KEY_DECRYPT'}}")
    error_message = "The first target's canary statement does not grant exactly deletion and the probes' disable and decrypt."
  }

  assert {
    condition     = contains(output.function_statements, "Allow dynamic-group id ocid1.dynamicgroup.oc1..functiongroup to manage keys in compartment id ocid1.compartment.oc1..secondkeys where all {target.vault.id = 'ocid1.vault.oc1.eu-stockholm-1.secondvault', any {request.permission = 'KEY_DELETE'}}")
    error_message = "A later target's canary statement grants more than KEY_DELETE."
  }
}

run "canary_export_with_key_list" {
  command = plan

  variables {
    enable_canary = true
    key_ids       = ["ocid1.key.oc1.eu-frankfurt-1.sourcevault.a"]
  }

  assert {
    condition     = length([for statement in output.function_statements : statement if strcontains(statement, "request.permission = 'KEY_CREATE'") && strcontains(statement, "request.permission = 'KEY_EXPORT'")]) == 1
    error_message = "With a key list, the canary's source statement does not grant export of its throwaway keys."
  }
}
