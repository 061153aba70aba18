"""What to do about a failed run, by its error code, shown under the run's own message (which says what happened
and, where it can, which field or page): the next step an operator takes, with api/errors.md for the rest."""

from __future__ import annotations

_NEXT_STEP = {
    "ERP_BAD_CREDENTIALS": "Edit the integration: check the connection's user name, password and app id, then "
                           "test the connection.",
    "ERP_ACCOUNT_PROBLEM": "Ask the SoftOne administrator to check the account (licence, company, branch).",
    "ERP_UNAVAILABLE": "Check that the ERP is up and that its base URL is right; the next run retries.",
    "ERP_TIMEOUT": "The ERP answered too slowly: try a smaller page size in the source settings.",
    "ERP_SESSION_EXPIRED": "The ERP session expired twice in one run; run it again, and ask the ERP administrator "
                           "if it repeats.",
    "ERP_PAGING_LOST": "The ERP lost its paging state mid-run; run again (earlier pages are kept).",
    "ERP_PAGING_LOOP": "The ERP kept answering the same page; check the source's filters and list.",
    "ERP_BAD_RESPONSE": "The ERP answered something that is not its protocol; check the base URL.",
    "ERP_BUSINESS_ERROR": "The ERP refused the request; its message says why.",
    "ERP_NOT_SUPPORTED": "The ERP does not support this source mode or object; change the source settings.",
    "DELETE_GUARD": "The run would have deleted too many rows: check the source's filters, or raise "
                    "options.maxDeleteShare if the deletions are real.",
    "TOO_MANY_ROW_ERRORS": "Open the run's row errors below, then fix the mapping's types or the ERP's data.",
    "ROW_MAPPING_FAILED": "Open the run's row errors below, then fix the mapping or the ERP's data.",
    "PUSH_REJECTED": "Open the run's row errors below: the ERP's message says which local change it refused.",
    "RUN_ABANDONED": "The process running it stopped; the next run picks up from the unchanged watermark.",
    "LEASE_LOST": "Another run took over after this one stalled; nothing to do unless it repeats.",
    "DATABASE_ERROR": "Check the database server; earlier pages stay written and the next run carries on.",
    "DECRYPTION_FAILED": "The stored password cannot be decrypted with ERP_SYNC_SECRET_KEYS: enter it again in the "
                         "editor, or restore the key.",
    "UNKNOWN_TABLE": "The target table is gone: create it, or turn on target.createIfMissing in the editor.",
    "UNKNOWN_COLUMN": "A mapped column is missing from the target table: add it, or change the mapping.",
}


def next_step(code: str | None) -> str | None:
    """The next step for a run that failed with `code`, or None when the message says it all."""
    return _NEXT_STEP.get(code or "")
