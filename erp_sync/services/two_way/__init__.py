"""Two-way sync in one place: conflicts found by a read (`conflicts`), local changes pushed to the ERP (`push`),
and record versions with the conflict policy for a push the ERP refused as stale (`versions`)."""
