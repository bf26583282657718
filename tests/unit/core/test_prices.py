"""The providers' price snapshots: the catalog's on-demand prices."""

from __future__ import annotations

from unicompute._prices import load_prices


def test_a_snapshot_is_read_once_and_describes_itself_by_date() -> None:
    snapshot = load_prices("unicompute.providers.aws", "AWS on-demand")
    assert snapshot is load_prices("unicompute.providers.aws", "AWS on-demand")
    assert snapshot.source == f"AWS on-demand price snapshot of {snapshot.date}"
    assert snapshot.data["currency"] == "USD"
    assert snapshot.region("us-east-1")["t3.micro"] > 0
    assert snapshot.region("no-such-region") == {}
