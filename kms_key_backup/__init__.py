"""kms-key-backup: copy OCI Vault software keys, with every version, to vaults in other regions."""
