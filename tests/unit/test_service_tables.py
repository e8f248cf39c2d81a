"""A service takes its table name from services/tables.json, the list the deployment creates."""

import pytest

from services.tables import TABLES, declared


def test_a_declared_table_is_its_name() -> None:
    assert [declared(name) for name in TABLES] == list(TABLES)


def test_an_undeclared_table_is_refused_with_the_file_to_edit() -> None:
    with pytest.raises(LookupError, match=r"'Couriers' is not declared: add it to tables.json"):
        declared("Couriers")
