# Offline checks of the configuration map. `command = plan` is enough: the module has no resources,
# so its outputs are known at plan time.

variables {
  source_region   = "eu-frankfurt-1"
  source_vault_id = "ocid1.vault.oc1.eu-frankfurt-1.sourcevault"
  targets = [
    {
      region         = "eu-amsterdam-1"
      vault_id       = "ocid1.vault.oc1.eu-amsterdam-1.targetvault"
      compartment_id = "ocid1.compartment.oc1..target"
    },
  ]
}

run "defaults_set_required_variables" {
  command = plan

  assert {
    condition     = output.config["KMS_BACKUP_SOURCE_REGION"] == "eu-frankfurt-1"
    error_message = "KMS_BACKUP_SOURCE_REGION is not the source_region input."
  }

  assert {
    condition     = output.config["KMS_BACKUP_SOURCE_VAULT_ID"] == "ocid1.vault.oc1.eu-frankfurt-1.sourcevault"
    error_message = "KMS_BACKUP_SOURCE_VAULT_ID is not the source_vault_id input."
  }

  assert {
    condition     = output.config["KMS_BACKUP_METRICS_NAMESPACE"] == "kms_key_backup"
    error_message = "KMS_BACKUP_METRICS_NAMESPACE does not default to kms_key_backup."
  }

  assert {
    condition     = !contains(keys(output.config), "KMS_BACKUP_KEY_IDS")
    error_message = "An empty key_ids list must not write KMS_BACKUP_KEY_IDS."
  }
}

run "targets_encode_as_json_without_nulls" {
  command = plan

  assert {
    condition = jsondecode(output.config["KMS_BACKUP_TARGETS"]) == [
      {
        region          = "eu-amsterdam-1"
        vault_id        = "ocid1.vault.oc1.eu-amsterdam-1.targetvault"
        compartment_id  = "ocid1.compartment.oc1..target"
        protection_mode = "SOFTWARE"
      },
    ]
    error_message = "KMS_BACKUP_TARGETS does not decode to the target with protection_mode SOFTWARE and no null fields."
  }
}

run "selection_lists_join_with_commas" {
  command = plan

  variables {
    key_ids           = ["ocid1.key.oc1.eu-frankfurt-1.sourcevault.a", "ocid1.key.oc1.eu-frankfurt-1.sourcevault.b"]
    key_tags          = { backup = "yes" }
    all_software_keys = false
  }

  assert {
    condition     = output.config["KMS_BACKUP_KEY_IDS"] == "ocid1.key.oc1.eu-frankfurt-1.sourcevault.a,ocid1.key.oc1.eu-frankfurt-1.sourcevault.b"
    error_message = "KMS_BACKUP_KEY_IDS is not the comma-separated key_ids."
  }

  assert {
    condition     = jsondecode(output.config["KMS_BACKUP_KEY_TAGS"]) == { backup = "yes" }
    error_message = "KMS_BACKUP_KEY_TAGS is not the JSON object of key_tags."
  }

  assert {
    condition     = output.config["KMS_BACKUP_ALL_SOFTWARE_KEYS"] == "false"
    error_message = "KMS_BACKUP_ALL_SOFTWARE_KEYS is not the string false."
  }
}

run "endpoint_overrides_never_set" {
  command = plan

  assert {
    condition     = length([for name in keys(output.config) : name if strcontains(name, "ENDPOINT")]) == 0
    error_message = "The module set a test-only endpoint override variable."
  }
}

run "invalid_protection_mode_rejected" {
  command = plan

  variables {
    targets = [
      {
        region          = "eu-amsterdam-1"
        vault_id        = "ocid1.vault.oc1.eu-amsterdam-1.targetvault"
        compartment_id  = "ocid1.compartment.oc1..target"
        protection_mode = "EXTERNAL"
      },
    ]
  }

  expect_failures = [var.targets]
}

run "oversized_config_rejected" {
  command = plan

  variables {
    key_names = [for index in range(200) : "a-rather-long-key-display-name-${index}"]
  }

  expect_failures = [output.config]
}

run "requests_per_second_written_when_set" {
  command = plan

  variables {
    requests_per_second = 2.5
  }

  assert {
    condition     = output.config["KMS_BACKUP_REQUESTS_PER_SECOND"] == "2.5"
    error_message = "KMS_BACKUP_REQUESTS_PER_SECOND is not the requests_per_second input."
  }
}

run "requests_per_second_unset_by_default" {
  command = plan

  assert {
    condition     = !contains(keys(output.config), "KMS_BACKUP_REQUESTS_PER_SECOND")
    error_message = "A null requests_per_second must leave KMS_BACKUP_REQUESTS_PER_SECOND unset, so the function's default applies."
  }
}

run "requests_per_second_out_of_range_rejected" {
  command = plan

  variables {
    requests_per_second = 0
  }

  expect_failures = [var.requests_per_second]
}
