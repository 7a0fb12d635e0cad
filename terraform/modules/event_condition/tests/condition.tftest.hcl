# Offline checks of the Events rule condition.

variables {
  compartment_ids = ["ocid1.compartment.oc1..source", "ocid1.compartment.oc1..morekeys"]
}

run "default_types_include_version_events" {
  command = plan

  assert {
    condition     = contains(jsondecode(output.condition).eventType, "com.oraclecloud.keymanagementservice.createkeyversion.end")
    error_message = "The condition does not match createkeyversion.end."
  }

  assert {
    condition     = contains(jsondecode(output.condition).eventType, "com.oraclecloud.keymanagementservice.autokeyrotate.end")
    error_message = "The condition does not match autokeyrotate.end."
  }
}

run "filtered_to_compartments" {
  command = plan

  assert {
    condition     = jsondecode(output.condition).data.compartmentId == ["ocid1.compartment.oc1..source", "ocid1.compartment.oc1..morekeys"]
    error_message = "The condition is not filtered to the source key compartments."
  }
}

run "unknown_event_type_rejected" {
  command = plan

  variables {
    event_types = ["createkeyversion.begin"]
  }

  expect_failures = [var.event_types]
}
