variable "event_types" {
  description = "Vault key event types, without the com.oraclecloud.keymanagementservice. prefix, that trigger a copy."
  type        = list(string)
  default = [
    "createkey.end",
    "enablekey.end",
    "cancelkeydeletion.end",
    "changekeycompartment.end",
    "createkeyversion.end",
    "cancelkeyversiondeletion.end",
    "autokeyrotate.end",
  ]

  validation {
    condition = length(var.event_types) > 0 && alltrue([
      for event_type in var.event_types : contains([
        "createkey.end", "enablekey.end", "disablekey.end", "schedulekeydeletion.end", "cancelkeydeletion.end",
        "changekeycompartment.end", "createkeyversion.end", "schedulekeyversiondeletion.end",
        "cancelkeyversiondeletion.end", "autokeyrotate.end",
      ], event_type)
    ])
    error_message = "event_types must be a non-empty list of Vault key event types ending in .end, such as createkeyversion.end or autokeyrotate.end."
  }
}

variable "compartment_ids" {
  description = "Compartments whose key events trigger a copy: the compartments of the source keys."
  type        = list(string)

  validation {
    condition     = length(var.compartment_ids) > 0
    error_message = "compartment_ids must name at least one compartment."
  }
}
