"""The connector contract: what every `ErpConnector` must do, checked against a real server it talks to.

A connector's test module subclasses `ConnectorContract` and provides one fixture, `case`, returning a
`ContractCase`: how to build a connector (with the right or a wrong password), the queries to run, the fields to
compare, and a `ServerControl` that can see and steer the server behind it (its rows, its login counter, session
expiry, paging-handle loss, faults, wire encodings). The assertions are on rows and on what the server saw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import pytest

from erp_sync.connectors.base import ConnectorError, ErpConnector, Page, PushRequest, Query


class ServerControl(Protocol):
    """The test's handle on the server behind a connector."""

    def logins(self) -> int:
        """Sessions the server opened so far (successful logins)."""
        ...

    def login_attempts(self) -> int:
        """Login requests the server received so far, successful or not."""
        ...

    def errors_answered(self) -> int:
        """Application errors (session expired, handle lost, refusals...) the server answered so far."""
        ...

    def expire_sessions(self) -> None:
        """Invalidate every session, as a session timeout would."""
        ...

    def lose_paging_handle(self) -> None:
        """Make the server forget the handle of the listing in progress on its next page request."""
        ...

    def use_hostile_encoding(self) -> None:
        """Answer in the least friendly encoding the real server uses (legacy code page, compressed, raw TABs)."""
        ...

    def reject_next_write(self, message: str) -> None:
        """Refuse the next write with this business-rule message."""
        ...

    def rows(self, object_name: str) -> list[dict[str, str]]:
        """Every current record of an object as the server stores it (UTF-8, by field name, in key order)."""
        ...

    def update_row(self, object_name: str, record_id: str, values: dict[str, str]) -> None:
        """Change a record behind the connector's back."""
        ...


@dataclass
class ContractCase:
    """One connector and server pair, described for the contract."""

    connect: Callable[..., ErpConnector]  # connect(password=None) -> a fresh connector
    server: ServerControl
    object_name: str
    table: str
    key_field: str  # the record key in server rows
    query: Query  # reads every record of object_name, several pages
    empty_query: Query  # matches nothing
    text_column: str  # page column holding free (Greek) text
    text_field: str  # the same value in server rows
    writable_field: str  # a field a push may set
    insert_values: dict[str, str]
    reference_field: str  # a field that can hold a push reference
    requests_ahead: int = 1  # page requests a connector may have on their way at once


def read_all(connector: ErpConnector, query: Query, *, after_first_page: Callable[[], None] | None = None,
             ) -> list[Page]:
    pages: list[Page] = []
    for page in connector.pages(query):
        pages.append(page)
        if len(pages) == 1 and after_first_page is not None:
            after_first_page()
    return pages


def record_ids(pages: list[Page]) -> list[str | None]:
    return [rid for page in pages for rid in page.record_ids]


class StatelessConnectorContract:
    """What every connector must do, sessions or not (a SOAP service has none): subclass as
    `TestXConnectorContract` and provide the `case` fixture. `ConnectorContract` adds the session parts."""

    @pytest.fixture
    def connector(self, case: ContractCase) -> Iterator[ErpConnector]:
        connector = case.connect()
        yield connector
        connector.close()

    def server_ids(self, case: ContractCase) -> list[str]:
        return [row[case.key_field] for row in case.server.rows(case.object_name)]

    def test_check_lists_the_object(self, case: ContractCase, connector: ErpConnector) -> None:
        report = connector.check()
        assert report.ok and any(o.get("name") == case.object_name for o in report.objects)

    def test_paging_reads_every_record_once_in_key_order(self, case: ContractCase,
                                                        connector: ErpConnector) -> None:
        pages = read_all(connector, case.query)
        assert len(pages) > 2
        assert [p.number for p in pages] == list(range(1, len(pages) + 1))
        assert [p.start for p in pages] == [sum(len(q) for q in pages[:i]) for i in range(len(pages))]
        assert all(len(row) == len(page.fields) for page in pages for row in page.rows)
        assert record_ids(pages) == self.server_ids(case)

    def test_a_filter_matching_nothing_yields_no_rows(self, case: ContractCase, connector: ErpConnector) -> None:
        assert sum(len(p) for p in connector.pages(case.empty_query)) == 0

    def test_a_record_changed_on_the_server_reads_back_changed(self, case: ContractCase,
                                                               connector: ErpConnector) -> None:
        record_id = self.server_ids(case)[1]
        case.server.update_row(case.object_name, record_id, {case.text_field: "Αλλαγή στον διακομιστή"})
        pages = read_all(connector, case.query)
        column = pages[0].fields.index(case.text_column)
        changed = [row[column] for page in pages for row, rid in zip(page.rows, page.record_ids, strict=True)
                   if rid == record_id]
        assert changed == ["Αλλαγή στον διακομιστή"]

    def test_a_wrong_password_is_fatal_after_exactly_one_login_attempt(self, case: ContractCase) -> None:
        connector = case.connect(password="not-the-password")
        before = case.server.login_attempts()
        with pytest.raises(ConnectorError) as caught:
            connector.check()
        connector.close()
        assert caught.value.code == "ERP_BAD_CREDENTIALS" and not caught.value.retriable
        assert case.server.login_attempts() == before + 1

    def test_greek_text_survives_legacy_encoding_and_compression(self, case: ContractCase,
                                                                 connector: ErpConnector) -> None:
        case.server.use_hostile_encoding()
        pages = read_all(connector, case.query)
        column = pages[0].fields.index(case.text_column)
        seen = [row[column] for page in pages for row in page.rows]
        expected = [row[case.text_field] for row in case.server.rows(case.object_name)]
        assert seen == expected
        assert any(not text.isascii() for text in seen)

    def test_an_accepted_update_is_visible_on_the_server(self, case: ContractCase,
                                                        connector: ErpConnector) -> None:
        record_id = self.server_ids(case)[2]
        value = "Ενημέρωση από erp-sync: Θεσσαλονίκη"
        result = connector.push(PushRequest(object=case.object_name, table=case.table, record_id=record_id,
                                            values={case.writable_field: value}))
        assert (result.accepted, result.record_id) == (True, record_id)
        row = self._row(case, record_id)
        assert row[case.writable_field] == value

    def test_an_accepted_insert_returns_a_new_id_holding_the_values(self, case: ContractCase,
                                                                   connector: ErpConnector) -> None:
        before = set(self.server_ids(case))
        values = {**case.insert_values, case.reference_field: "erp-sync-ref-1"}
        result = connector.push(PushRequest(object=case.object_name, table=case.table, values=values,
                                            reference=(case.reference_field, "erp-sync-ref-1")))
        assert result.accepted and result.record_id and result.record_id not in before
        row = self._row(case, result.record_id)
        assert all(row[name] == value for name, value in values.items())

    def test_a_rejected_push_reports_the_servers_message_and_changes_nothing(
            self, case: ContractCase, connector: ErpConnector) -> None:
        record_id = self.server_ids(case)[0]
        original = self._row(case, record_id)
        case.server.reject_next_write("Ο πελάτης είναι δεσμευμένος")
        result = connector.push(PushRequest(object=case.object_name, table=case.table, record_id=record_id,
                                            values={case.writable_field: "δεν θα αποθηκευτεί"}))
        assert (result.accepted, result.error_code) == (False, "ERP_BUSINESS_ERROR")
        assert result.message and "Ο πελάτης είναι δεσμευμένος" in result.message
        assert self._row(case, record_id) == original

    def _row(self, case: ContractCase, record_id: str) -> dict[str, Any]:
        rows = [row for row in case.server.rows(case.object_name) if row[case.key_field] == record_id]
        assert len(rows) == 1, f"{case.object_name} {record_id} appears {len(rows)} times on the server"
        return rows[0]


class ConnectorContract(StatelessConnectorContract):
    """The contract of a connector that logs in and keeps a paging handle on the server (SoftOne)."""

    def test_check_logs_in_once_and_lists_objects(self, case: ContractCase, connector: ErpConnector) -> None:
        before = case.server.logins()
        report = connector.check()
        connector.check()
        assert report.ok and any(o.get("name") == case.object_name for o in report.objects)
        assert case.server.logins() == before + 1

    def test_expired_session_mid_paging_logs_in_once_more_and_loses_no_rows(
            self, case: ContractCase, connector: ErpConnector) -> None:
        before, errors = case.server.logins(), case.server.errors_answered()
        pages = read_all(connector, case.query, after_first_page=case.server.expire_sessions)
        assert record_ids(pages) == self.server_ids(case)
        assert case.server.logins() == before + 2
        # the requests already on their way when the session ended are refused too, each once, none retried twice
        assert 1 <= case.server.errors_answered() - errors <= case.requests_ahead

    def test_lost_paging_handle_mid_paging_resumes_without_gaps_or_repeats(
            self, case: ContractCase, connector: ErpConnector) -> None:
        errors = case.server.errors_answered()
        pages = read_all(connector, case.query, after_first_page=case.server.lose_paging_handle)
        assert record_ids(pages) == self.server_ids(case)
        assert 1 <= case.server.errors_answered() - errors <= case.requests_ahead
