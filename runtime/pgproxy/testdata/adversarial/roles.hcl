# A read-only grant over every fixture relation and the catalogs (as tools
# such as psql need), masked; COPY TO is a read too.
role "reader" {
  postgres "adv" {
    statements = ["select", "copy_out"]
    tables     = ["public.PREFIX_*", "pg_catalog.*", "information_schema.*"]
    masking    = [masking.pii]
  }
}

# Reads of the unmasked table, with side-effect functions granted: only
# the read-only transaction upstream (the second wall) stands between it
# and their effects.
role "fnreader" {
  postgres "adv" {
    statements = ["select"]
    tables    = ["public.PREFIX_other"]
    functions = [
      "nextval", "setval", "lo_create", "lo_creat", "lo_from_bytea", "lo_import", "lo_open",
      "lowrite", "lo_put", "lo_unlink", "pg_notify", "pg_advisory_lock", "pg_try_advisory_lock",
      "set_config", "pg_catalog.set_config", "query_to_xml", "txid_current", "pg_current_xact_id",
      "PREFIX_flip", "PREFIX_listen",
    ]
  }
}

# Loads the unmasked table with COPY FROM STDIN and reads the masked one:
# the op queue must follow the server's copy-in mode, or a later result
# would be masked by another statement's plan.
role "loader" {
  postgres "adv" {
    statements = ["select", "copy_in"]
    tables     = ["public.PREFIX_other", "public.PREFIX_cust"]
    masking    = [masking.pii]
  }
}

# Writes and DDL over every fixture relation, masked: schema changes to the
# masked table itself must not unmask it (adversarial_ddl_test.go).
role "ddler" {
  postgres "adv" {
    statements = ["select", "insert", "update", "delete", "ddl"]
    tables     = ["public.PREFIX_*"]
    masking    = [masking.pii]
  }
}

# DDL and writes on scratch tables only (the masked tables are read through
# role.reader): code it creates must not read the masked tables unmasked.
role "scratch" {
  postgres "adv" {
    statements = ["select", "insert", "update", "delete", "ddl"]
    tables     = ["public.PREFIX_scratch*"]
    masking    = [masking.pii]
  }
}
