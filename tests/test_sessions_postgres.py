"""Sessions in a real PostgreSQL shared by replicas: a conversation alternating between two
Assistants keeps its bundle, cart and exclusions; a replica that goes away loses nothing."""

from __future__ import annotations

import pytest
from scripted_model import default_shop_index, scripted_assistant_over

from assistant.dialogue.service import open_session_store
from assistant.dialogue.session import ConversationState, SessionExpired, SessionNotFound
from assistant.dialogue.session_pg import PostgresSessionStore
from retrieval.errors import ConfigError


def test_two_replicas_share_every_session(pg_url: str) -> None:
    one, two = open_session_store(pg_url), open_session_store(pg_url)
    assert isinstance(one, PostgresSessionStore)
    state = one.create(user_id="u1")
    state.constraints = {"budget": 20.0, "exclude": ["candles"]}
    one.save(state)
    seen = two.load(state.session_id)
    assert seen.user_id == "u1" and seen.constraints["exclude"] == ["candles"]
    seen.turns = 3
    two.save(seen)
    assert one.load(state.session_id).turns == 3
    assert two.delete(state.session_id) and not one.delete(state.session_id)
    with pytest.raises(SessionNotFound):
        one.load(state.session_id)
    with pytest.raises(SessionNotFound):
        one.save(ConversationState("never-created"))
    one.close(), two.close()


def test_a_replica_that_goes_away_loses_nothing(pg_url: str) -> None:
    first = open_session_store(pg_url)
    state = first.create()
    state.turns = 7
    first.save(state)
    first.close()  # the process is gone
    again = open_session_store(pg_url)
    assert again.load(state.session_id).turns == 7
    again.close()


def test_an_unreachable_database_is_a_config_error_without_the_password() -> None:
    with pytest.raises(ConfigError) as caught:
        PostgresSessionStore("postgresql://shop:s3cret@127.0.0.1:1/shop", timeout_s=1)
    assert "127.0.0.1:1/shop" in str(caught.value) and "s3cret" not in str(caught.value)


def test_a_conversation_alternates_between_two_assistants(pg_url: str) -> None:
    index = default_shop_index()
    left = scripted_assistant_over(index, pg_url)
    right = scripted_assistant_over(index, pg_url)
    left_parser, right_parser = left.chain.parser, right.chain.parser
    for parser in (left_parser, right_parser):
        parser.add({"no candles please": '{"intent": "bundle", "exclude": ["candles"]}'})  # type: ignore[attr-defined]
    session = left.open_session()
    first = left.turn(session, "a bundle for a tea party under £20")
    assert first.bundle is not None
    shown = [bi.item.item_id for bi in first.bundle.items]
    # the next turn lands on the other replica: it sees the bundle on screen
    right.add_to_cart(session, shown[0], 2)
    assert [line.item_id for line in left.cart(session)] == [shown[0]]
    right.turn(session, "no candles please")
    assert "candles" in left.state(session).constraints.get("exclude", [])
    assert left.state(session).turns == right.state(session).turns == 2


def test_orders_on_one_replica_reach_the_other_and_survive_a_restart(pg_url: str) -> None:
    """Each replica has its own index in memory (as separate processes do); the orders'
    log in the shared database is what carries new co-purchases between them."""
    from retrieval.shop_index import ShopIndex, default_index_dir

    folder = default_index_dir("online-retail")
    default_shop_index()  # built once if the cache has none
    one = scripted_assistant_over(ShopIndex.load(folder), pg_url)
    two = scripted_assistant_over(ShopIndex.load(folder), pg_url)
    heart, clock = "85123A", "22727"
    pair = [one.index.catalog.index_of[heart], one.index.catalog.index_of[clock]]
    support = two.index.sources["rules"]._support(pair[0], pair[1])
    for _ in range(3):
        one.record_order([heart, clock])
    assert one.index.sources["rules"]._support(pair[0], pair[1]) == support + 3
    assert two.sync_orders() == 3  # a turn does this at most every ORDER_SYNC_S seconds
    assert two.index.sources["rules"]._support(pair[0], pair[1]) == support + 3
    restarted = scripted_assistant_over(ShopIndex.load(folder), pg_url)
    assert restarted.index.sources["rules"]._support(pair[0], pair[1]) == support + 3
    assert restarted.index.sources["rules"].live_orders == two.index.sources["rules"].live_orders


def test_the_embedded_store_keeps_orders_across_a_restart(tmp_path) -> None:
    store = open_session_store(str(tmp_path / "s.sqlite3"))
    assert store.add_order(["85123A", "22727"]) == 1 and store.add_order(["22423"]) == 2
    store.close()
    again = open_session_store(str(tmp_path / "s.sqlite3"))
    assert again.orders_after(0) == [(1, ["85123A", "22727"]), (2, ["22423"])]
    assert again.orders_after(1) == [(2, ["22423"])]


def test_a_session_idle_on_every_replica_expires_on_each(pg_url: str) -> None:
    one = open_session_store(pg_url, idle_expiry_s=600)
    two = open_session_store(pg_url, idle_expiry_s=600)
    idle, fresh = one.create(), one.create()
    one._execute("UPDATE cartsmith_sessions SET updated = updated - 601 WHERE session_id = %s", (idle.session_id,))
    with pytest.raises(SessionExpired, match="expired after 10 minutes"):
        two.load(idle.session_id)
    with pytest.raises(SessionNotFound):
        one.load(idle.session_id)
    stale = two.create()
    two._execute("UPDATE cartsmith_sessions SET updated = updated - 601 WHERE session_id = %s", (stale.session_id,))
    assert one.purge_expired() >= 1 and one.load(fresh.session_id).session_id == fresh.session_id
    with pytest.raises(SessionNotFound):
        two.load(stale.session_id)
    one.close(), two.close()


def test_a_customer_forgotten_on_one_replica_is_forgotten_on_all(pg_url: str) -> None:
    from assistant.dialogue.session_pg import forgotten_customers_in

    one, two = open_session_store(pg_url), open_session_store(pg_url)
    theirs, other = two.create("forget-me"), two.create("keep-me")
    assert one.forget_customer("forget-me") == 1 and one.forget_customer("forget-me") == 0
    assert two.is_forgotten("forget-me") and not two.is_forgotten("keep-me")
    with pytest.raises(SessionNotFound):
        two.load(theirs.session_id)
    assert two.load(other.session_id).user_id == "keep-me"
    assert "forget-me" in forgotten_customers_in(pg_url)
    one.close(), two.close()


def test_checkouts_are_shared_by_replicas(pg_url: str) -> None:
    one, two = open_session_store(pg_url), open_session_store(pg_url)
    body = '{"order_id": "ord_pg1", "idempotency_key": "pg-key-000001"}'
    assert one.add_checkout("ord_pg1", "pg-key-000001", body, '{"state": "pending", "attempts": []}')
    assert not two.add_checkout("ord_pg2", "pg-key-000001", body, '{"state": "pending", "attempts": []}')
    assert two.checkout_by_key("pg-key-000001") == (body, '{"state": "pending", "attempts": []}')
    assert "ord_pg1" in two.pending_checkouts()
    two.set_delivery("ord_pg1", '{"state": "delivered", "attempts": [{"status": 200}]}')
    assert one.checkout("ord_pg1")[1].startswith('{"state": "delivered"')  # type: ignore[index]
    assert "ord_pg1" not in one.pending_checkouts() and one.checkout("ord_pg2") is None
    one.close(), two.close()


def test_replicas_starting_together_on_a_new_database_all_start(pg_url: str) -> None:
    """Replicas started at once race to create the schema: every one must start (CI saw a
    unique violation in pg_type when two servers ran CREATE TABLE IF NOT EXISTS together)."""
    import threading

    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("CREATE DATABASE replicas_racing")
    fresh = pg_url.rsplit("/", 1)[0] + "/replicas_racing"
    start = threading.Barrier(6)
    failures: list[BaseException] = []
    stores: list[PostgresSessionStore] = []

    def start_a_replica() -> None:
        start.wait()
        try:
            stores.append(PostgresSessionStore(fresh, min_size=1, max_size=1))
        except BaseException as exc:  # collected: a thread's exception would otherwise be lost
            failures.append(exc)

    threads = [threading.Thread(target=start_a_replica) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures and len(stores) == 6
    state = stores[0].create()
    assert stores[5].load(state.session_id).session_id == state.session_id
    for store in stores:
        store.close()
