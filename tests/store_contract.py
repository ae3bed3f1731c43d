"""The contract every Store back-end passes: the semantics documented in functions/store.py.

A back-end's test module subclasses ``StoreContract`` and provides the
``make_store`` fixture: a factory whose every call opens a new handle on one
and the same (initially empty) store, closed by the fixture at teardown.
``store`` is the first such handle; override it too if that suits better.

Call ``pytest.register_assert_rewrite("tests.store_contract")`` before importing
this module, so its plain asserts explain their failures.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal
from typing import TypeVar, cast

import pytest

from functions.store import (
    Checkout,
    Customer,
    ForgetReport,
    InsufficientStock,
    IssuedDocument,
    OrderQuery,
    OutgoingDelivery,
    OutgoingMail,
    PersonalData,
    StockCount,
    StockHold,
    Store,
)
from shop.money import Money
from shop.orders import (
    TRANSITIONS,
    Address,
    Delivery,
    InvalidTransition,
    Order,
    OrderDiscount,
    OrderEvent,
    OrderLine,
    OrderStatus,
    PricedOrder,
    Shipment,
    VatAmount,
)
from shop.returns import ReturnEvent, ReturnLine, ReturnRequest, ReturnSource, ReturnStatus

T = TypeVar("T")
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(minutes=30)  # when holds made at NOW expire
SECOND = dt.timedelta(seconds=1)
HOUR = dt.timedelta(hours=1)
MakeStore = Callable[[], Store]


def sell(store: Store, key: str, quantities: dict[str, int], at: dt.datetime) -> None:
    store.reserve(key, quantities, at + dt.timedelta(minutes=30), at)
    assert store.commit_reservation(key, at)


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


def priced(total: int = 2400) -> PricedOrder:
    return PricedOrder(
        currency="EUR",
        lines=(
            OrderLine(
                "THE-VERT", "Thé vert « Sencha »", 2, eur(1100), eur(0), eur(2200), Decimal("5.5")
            ),
        ),
        subtotal=eur(2200),
        discounts=(OrderDiscount("BIENVENUE", eur(200), "BIENVENUE"),),
        delivery=Delivery("colissimo", "Colissimo", eur(400), pickup=False),
        vat=(
            VatAmount(Decimal("5.5"), eur(2000), eur(104)),
            VatAmount(Decimal("20"), eur(400), eur(67)),
        ),
        total=eur(total),
        promo_code="BIENVENUE",
    )


def make_order(
    session_id: str = "cs_test_1",
    *,
    status: OrderStatus = OrderStatus.PAID,
    created_at: dt.datetime = NOW,
    total: int = 2400,
    history: tuple[OrderEvent, ...] = (),
    name: str = "Léa Dupont",
) -> Order:
    return Order(
        session_id=session_id,
        number=f"CT-{session_id}",
        status=status,
        created_at=created_at,
        email="lea@example.fr",
        customer_name=name,
        language="fr",
        priced=priced(total),
        shipping_address=Address(name, "12 rue des Écoles", "", "75005", "Paris", "FR"),
        marketing_consent=False,
        history=history,
    )


def mail(
    key: str, to: str = "lea@example.fr", next_attempt_at: dt.datetime | None = None
) -> OutgoingMail:
    message = f"Subject: {key}\r\nTo: {to}\r\n\r\nMerci ☕\r\n".encode()
    return OutgoingMail(key, to, message, next_attempt_at=next_attempt_at)


def delivery(
    key: str, body: bytes = b'{"type": "order.paid"}', next_attempt_at: dt.datetime | None = None
) -> OutgoingDelivery:
    return OutgoingDelivery(
        key, "webhook", "https://hooks.example/x", body, next_attempt_at=next_attempt_at
    )


def run_together(count: int, work: Callable[[int], T]) -> list[T | Exception]:
    """Run ``work(i)`` in ``count`` threads released at the same instant."""
    start = threading.Barrier(count)

    def task(index: int) -> T | Exception:
        start.wait(timeout=10)
        try:
            return work(index)
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(task, range(count)))


class StoreContract:
    @pytest.fixture
    def make_store(self) -> MakeStore:
        raise NotImplementedError("a back-end's tests provide make_store")

    @pytest.fixture
    def store(self, make_store: MakeStore) -> Store:
        return make_store()

    # -- stock: levels --------------------------------------------------------

    def test_untracked_skus_are_none(self, store: Store) -> None:
        assert store.available(["NEVER-SYNCED"], NOW) == {"NEVER-SYNCED": None}
        store.sync_stock({"A": 3})
        assert store.available(["A", "B"], NOW) == {"A": 3, "B": None}
        assert store.available([], NOW) == {}

    def test_sync_sets_counts_including_zero(self, store: Store) -> None:
        store.sync_stock({"A": 5, "B": 0})
        assert store.available(["A", "B"], NOW) == {"A": 5, "B": 0}

    def test_sync_with_the_same_count_keeps_what_was_sold(self, store: Store) -> None:
        store.sync_stock({"A": 5})
        store.reserve("k1", {"A": 2}, LATER, NOW)
        assert store.commit_reservation("k1", NOW)
        store.sync_stock({"A": 5})
        assert store.available(["A"], NOW) == {"A": 3}

    def test_sync_with_a_new_count_starts_afresh(self, store: Store) -> None:
        store.sync_stock({"A": 5})
        store.reserve("k1", {"A": 2}, LATER, NOW)
        store.commit_reservation("k1", NOW)
        store.sync_stock({"A": 7})
        assert store.available(["A"], NOW) == {"A": 7}
        store.sync_stock({"A": 5})  # back to an earlier count is still a new count
        assert store.available(["A"], NOW) == {"A": 5}

    def test_sync_keeps_active_holds(self, store: Store) -> None:
        store.sync_stock({"A": 5})
        store.reserve("k1", {"A": 2}, LATER, NOW)
        store.sync_stock({"A": 10})
        assert store.available(["A"], NOW) == {"A": 8}

    def test_skus_left_out_of_a_sync_become_untracked(self, store: Store) -> None:
        store.sync_stock({"A": 5, "B": 1})
        store.sync_stock({"B": 1})
        assert store.available(["A", "B"], NOW) == {"A": None, "B": 1}
        store.reserve("k1", {"A": 1000}, LATER, NOW)  # always available
        store.sync_stock({})
        assert store.available(["B"], NOW) == {"B": None}

    # -- stock: holds ---------------------------------------------------------

    def test_reserve_holds_units(self, store: Store) -> None:
        store.sync_stock({"A": 5, "B": 2})
        store.reserve("k1", {"A": 3, "B": 2}, LATER, NOW)
        assert store.available(["A", "B"], NOW) == {"A": 2, "B": 0}

    def test_reserve_untracked_always_succeeds(self, store: Store) -> None:
        store.reserve("k1", {"FREE": 50}, LATER, NOW)
        store.reserve("k2", {"FREE": 50}, LATER, NOW)
        assert store.available(["FREE"], NOW) == {"FREE": None}

    def test_reserve_is_all_or_nothing(self, store: Store) -> None:
        store.sync_stock({"A": 5, "B": 1})
        with pytest.raises(InsufficientStock) as raised:
            store.reserve("k1", {"A": 2, "FREE": 1, "B": 2}, LATER, NOW)
        assert (raised.value.sku, raised.value.available) == ("B", 1)
        assert store.available(["A", "B"], NOW) == {"A": 5, "B": 1}
        assert not store.release_reservation("k1")  # nothing was held

    def test_reserve_up_to_the_last_unit(self, store: Store) -> None:
        store.sync_stock({"A": 3})
        store.reserve("k1", {"A": 3}, LATER, NOW)
        with pytest.raises(InsufficientStock) as raised:
            store.reserve("k2", {"A": 1}, LATER, NOW)
        assert (raised.value.sku, raised.value.available) == ("A", 0)

    def test_reserving_again_replaces_the_hold(self, store: Store) -> None:
        store.sync_stock({"A": 5, "B": 5})
        store.reserve("k1", {"A": 3}, LATER, NOW)
        store.reserve("k1", {"A": 5}, LATER, NOW)  # its own 3 units do not count against it
        assert store.available(["A"], NOW) == {"A": 0}
        store.reserve("k1", {"B": 1}, LATER, NOW)
        assert store.available(["A", "B"], NOW) == {"A": 5, "B": 4}

    def test_failed_re_reserve_keeps_the_previous_hold(self, store: Store) -> None:
        store.sync_stock({"A": 5})
        store.reserve("k1", {"A": 3}, LATER, NOW)
        store.reserve("k2", {"A": 1}, LATER, NOW)
        with pytest.raises(InsufficientStock) as raised:
            store.reserve("k1", {"A": 5}, LATER, NOW)
        assert raised.value.available == 4
        assert store.available(["A"], NOW) == {"A": 1}

    def test_expired_holds_stop_counting(self, store: Store) -> None:
        store.sync_stock({"A": 5})
        store.reserve("k1", {"A": 4}, LATER, NOW)
        assert store.available(["A"], LATER - SECOND) == {"A": 1}
        assert store.available(["A"], LATER) == {"A": 5}  # a hold ends at expires_at
        store.reserve("k2", {"A": 5}, LATER + dt.timedelta(hours=1), LATER)

    # -- stock: sales -----------------------------------------------------------

    def test_commit_turns_the_hold_into_a_sale(self, store: Store) -> None:
        store.sync_stock({"A": 5})
        store.reserve("k1", {"A": 2}, LATER, NOW)
        assert store.commit_reservation("k1", NOW)
        far = NOW + dt.timedelta(days=30)  # sold stays sold once the hold would have expired
        assert store.available(["A"], far) == {"A": 3}

    def test_commit_is_idempotent(self, make_store: MakeStore) -> None:
        store, other = make_store(), make_store()
        store.sync_stock({"A": 5})
        store.reserve("k1", {"A": 2}, LATER, NOW)
        assert store.commit_reservation("k1", NOW) is True
        assert store.commit_reservation("k1", NOW) is False
        assert other.commit_reservation("k1", NOW + SECOND) is False
        assert store.available(["A"], NOW) == {"A": 3}

    def test_commit_after_expiry_still_sells(self, store: Store) -> None:
        store.sync_stock({"A": 2})
        store.reserve("k1", {"A": 1}, LATER, NOW)
        late = LATER + dt.timedelta(hours=1)
        assert store.available(["A"], late) == {"A": 2}
        assert store.commit_reservation("k1", late)
        assert store.available(["A"], late) == {"A": 1}

    def test_a_late_commit_can_oversell_and_availability_reads_zero(self, store: Store) -> None:
        store.sync_stock({"A": 1})
        store.reserve("k1", {"A": 1}, LATER, NOW)
        store.reserve("k2", {"A": 1}, LATER + dt.timedelta(hours=1), LATER)  # k1 expired
        assert store.commit_reservation("k1", LATER + SECOND)
        assert store.commit_reservation("k2", LATER + SECOND)
        assert store.available(["A"], LATER + SECOND) == {"A": 0}
        with pytest.raises(InsufficientStock) as raised:
            store.reserve("k3", {"A": 1}, LATER + dt.timedelta(hours=2), LATER + SECOND)
        assert raised.value.available == 0

    def test_a_timely_or_covered_sale_is_not_oversold(self, store: Store) -> None:
        store.sync_stock({"A": 2})
        store.reserve("k1", {"A": 1, "FREE": 3}, LATER, NOW)
        store.reserve("k2", {"A": 1}, LATER, NOW)
        assert store.commit_reservation("k1", NOW)
        assert store.commit_reservation("k2", LATER + SECOND)  # lapsed, but nobody took it
        assert store.oversold("k1") == store.oversold("k2") == {}
        assert store.oversold("never-sold") == {}

    def test_a_late_sale_of_units_another_bought_is_oversold(self, store: Store) -> None:
        store.sync_stock({"A": 2, "B": 5})
        store.reserve("late", {"A": 2, "B": 1}, LATER, NOW)
        store.reserve("other", {"A": 1}, LATER + dt.timedelta(hours=1), LATER)  # late lapsed
        assert store.commit_reservation("other", LATER)
        assert store.commit_reservation("late", LATER + SECOND)
        assert store.oversold("late") == {"A": 1}  # one of its two was still free
        assert store.oversold("other") == {}
        assert store.commit_reservation("late", LATER + SECOND) is False
        assert store.oversold("late") == {"A": 1}  # as found when it sold, for good

    def test_a_late_sale_of_units_another_holds_is_oversold_not_the_holder(
        self, store: Store
    ) -> None:
        store.sync_stock({"A": 1})
        store.reserve("late", {"A": 1}, LATER, NOW)
        store.reserve("holder", {"A": 1}, LATER + dt.timedelta(hours=1), LATER)
        assert store.commit_reservation("late", LATER + SECOND)
        assert store.commit_reservation("holder", LATER + 2 * SECOND)  # its hold is live
        assert store.oversold("late") == {"A": 1}
        assert store.oversold("holder") == {}

    def test_release_drops_the_hold_once(self, store: Store) -> None:
        store.sync_stock({"A": 5})
        store.reserve("k1", {"A": 2}, LATER, NOW)
        assert store.release_reservation("k1") is True
        assert store.available(["A"], NOW) == {"A": 5}
        assert store.release_reservation("k1") is False
        assert store.release_reservation("never-reserved") is False

    def test_release_never_undoes_a_sale(self, store: Store) -> None:
        store.sync_stock({"A": 5})
        store.reserve("k1", {"A": 2}, LATER, NOW)
        store.commit_reservation("k1", NOW)
        assert store.release_reservation("k1") is False
        assert store.available(["A"], NOW) == {"A": 3}

    def test_expired_holds_are_released_and_active_ones_kept(self, store: Store) -> None:
        store.sync_stock({"A": 5, "B": 5})
        store.reserve("old", {"A": 1, "B": 1}, LATER, NOW)
        store.reserve("new", {"A": 2}, LATER + dt.timedelta(hours=1), NOW)
        store.reserve("sold", {"B": 1}, LATER, NOW)
        store.commit_reservation("sold", NOW)
        assert store.release_expired_holds(LATER - SECOND) == 0
        assert store.release_expired_holds(LATER) == 1  # "old": its two SKUs, one checkout
        assert store.release_expired_holds(LATER) == 0
        assert store.available(["A", "B"], NOW) == {"A": 3, "B": 4}  # "new" held, "sold" sold
        assert store.release_reservation("old") is False
        assert store.release_reservation("new") is True

    def test_cancel_sale_puts_units_back_once(self, store: Store) -> None:
        store.sync_stock({"A": 5})
        store.reserve("k1", {"A": 2, "FREE": 1}, LATER, NOW)
        store.commit_reservation("k1", NOW)
        assert store.cancel_sale("k1") is True
        assert store.available(["A"], NOW) == {"A": 5}
        assert store.cancel_sale("k1") is False
        assert store.commit_reservation("k1", NOW) is False  # a cancelled sale stays cancelled
        assert store.available(["A"], NOW) == {"A": 5}

    def test_cancel_sale_needs_a_sale(self, store: Store) -> None:
        store.sync_stock({"A": 5})
        assert store.cancel_sale("unknown") is False
        store.reserve("k1", {"A": 2}, LATER, NOW)
        assert store.cancel_sale("k1") is False  # a hold is not a sale
        assert store.available(["A"], NOW) == {"A": 3}

    def test_cancel_sale_from_before_a_recount_puts_nothing_back(self, store: Store) -> None:
        store.sync_stock({"A": 5})
        store.reserve("k1", {"A": 2}, LATER, NOW)
        store.commit_reservation("k1", NOW)
        store.sync_stock({"A": 4})  # the merchant counted the shelf: that sale is forgotten
        assert store.cancel_sale("k1") is True
        assert store.available(["A"], NOW) == {"A": 4}

    # -- stock: dated counts and corrections ------------------------------------

    def test_a_restock_in_a_file_keeps_the_sales_made_meanwhile(self, store: Store) -> None:
        store.sync_stock({"A": 10})
        sell(store, "before", {"A": 2}, NOW)  # already off the shelf when it was counted
        sell(store, "after", {"A": 3}, NOW + 2 * HOUR)  # sold while the file was on its way
        store.sync_stock({"A": StockCount(12, NOW + HOUR)})
        assert store.available(["A"], NOW + 3 * HOUR) == {"A": 9}
        store.sync_stock({"A": StockCount(12, NOW + HOUR)})  # pushed twice: counted once
        assert store.available(["A"], NOW + 3 * HOUR) == {"A": 9}
        sell(store, "later", {"A": 1}, NOW + 3 * HOUR)
        store.sync_stock({"A": StockCount(12, NOW + HOUR)})
        assert store.available(["A"], NOW + 3 * HOUR) == {"A": 8}

    def test_an_older_count_never_replaces_a_newer_one(self, store: Store) -> None:
        store.sync_stock({"A": StockCount(5, NOW + HOUR)})
        store.sync_stock({"A": StockCount(9, NOW)})
        assert store.available(["A"], NOW) == {"A": 5}
        store.sync_stock({"A": StockCount(7, NOW + 2 * HOUR)})
        assert store.available(["A"], NOW) == {"A": 7}
        store.sync_stock({"A": 7})  # undated again: today's rule, a new count
        assert store.available(["A"], NOW) == {"A": 7}

    def test_cancelling_a_sale_after_a_dated_count_puts_it_back(self, store: Store) -> None:
        store.sync_stock({"A": 10})
        sell(store, "before", {"A": 1}, NOW)
        sell(store, "after", {"A": 2}, NOW + 2 * HOUR)
        store.sync_stock({"A": StockCount(12, NOW + HOUR)})
        assert store.cancel_sale("before")  # counted on the shelf already: nothing back
        assert store.available(["A"], NOW) == {"A": 10}
        assert store.cancel_sale("after")
        assert store.available(["A"], NOW) == {"A": 12}
        store.sync_stock({"A": StockCount(12, NOW + HOUR + SECOND)})  # a cancelled sale
        assert store.available(["A"], NOW) == {"A": 12}  # never counts again

    def test_a_correction_is_kept_with_its_reason(self, store: Store) -> None:
        store.sync_stock({"A": 10})
        sell(store, "sold", {"A": 3}, NOW)
        store.reserve("held", {"A": 2}, LATER, NOW)
        adjustment = store.set_stock("A", 4, "two broken in transit", NOW + SECOND)
        assert (adjustment.previous, adjustment.count) == (5, 4)
        assert store.available(["A"], NOW + SECOND) == {"A": 2}  # the hold still counts
        store.sync_stock({"A": 10})  # the file has not changed: the correction stays
        store.sync_stock({"A": StockCount(10, NOW)})  # a count older than the correction
        assert store.available(["A"], NOW + SECOND) == {"A": 2}
        assert store.stock_adjustments() == [adjustment]
        store.sync_stock({"A": StockCount(20, NOW + HOUR)})  # a newer count from the file
        assert store.available(["A"], NOW + SECOND) == {"A": 18}
        with pytest.raises(KeyError):
            store.set_stock("UNTRACKED", 1, "typo", NOW)

    def test_stock_levels_show_counts_sales_and_holds(self, store: Store) -> None:
        store.sync_stock({"B": 3, "A": StockCount(10, NOW - HOUR)})
        sell(store, "k1", {"A": 2}, NOW)
        store.reserve("k2", {"A": 1, "B": 1}, LATER, NOW)
        a, b = store.stock_levels(NOW)
        assert (a.sku, a.count, a.counted_at, a.sold, a.available) == ("A", 10, NOW - HOUR, 2, 7)
        assert a.holds == (StockHold("k2", 1, LATER),)
        assert (b.sku, b.counted_at, b.sold, b.held, b.available) == ("B", None, 0, 1, 2)
        assert [level.holds for level in store.stock_levels(LATER)] == [(), ()]
        assert [level.sku for level in store.stock_levels(NOW, ["B", "FREE"])] == ["B"]
        store.sync_stock({"B": 4, "A": StockCount(10, NOW - HOUR)})
        after = store.stock_levels(NOW)
        assert after[0].count_id == a.count_id and after[1].count_id != b.count_id

    # -- orders -----------------------------------------------------------------

    def test_order_round_trip(self, store: Store) -> None:
        history = (
            OrderEvent(NOW, OrderStatus.PENDING, "checkout.session.completed evt_1"),
            OrderEvent(NOW + SECOND, OrderStatus.PAID, "async_payment_succeeded evt_2"),
        )
        order = make_order(history=history)
        assert store.create_order(order) is True
        assert store.get_order("cs_test_1") == order
        assert store.get_order("cs_test_unknown") is None

    def test_an_order_is_created_once_per_session(self, make_store: MakeStore) -> None:
        store, other = make_store(), make_store()
        first = make_order(total=2400)
        assert store.create_order(first) is True
        assert store.create_order(make_order(total=9900, status=OrderStatus.PENDING)) is False
        assert other.create_order(make_order(total=1)) is False
        assert store.get_order("cs_test_1") == first
        assert store.list_orders() == [first]

    def test_status_moves_along_transitions_with_history(self, store: Store) -> None:
        store.create_order(make_order(status=OrderStatus.PENDING))
        steps = [
            (OrderStatus.PAID, "async_payment_succeeded evt_2"),
            (OrderStatus.FULFILLED, "shipped"),
            (OrderStatus.PARTIALLY_REFUNDED, "charge.refunded 500"),
            (OrderStatus.REFUNDED, "charge.refunded 2400"),
        ]
        for minutes, (status, note) in enumerate(steps, start=1):
            at = NOW + dt.timedelta(minutes=minutes)
            moved = store.set_order_status("cs_test_1", status, note, at)
            assert moved.status == status
            assert moved.history[-1] == OrderEvent(at, status, note)
            assert store.get_order("cs_test_1") == moved
        final = store.get_order("cs_test_1")
        assert final is not None
        assert [event.status for event in final.history] == [status for status, _ in steps]

    def test_every_transition_is_allowed_or_refused_per_table(self, store: Store) -> None:
        for source in OrderStatus:
            for target in OrderStatus:
                if target == source:
                    continue
                session_id = f"cs_test_{source}_{target}"
                store.create_order(make_order(session_id, status=source))
                if target in TRANSITIONS[source]:
                    moved = store.set_order_status(session_id, target, "move", NOW)
                    assert moved.status == target, (source, target)
                    assert len(moved.history) == 1
                else:
                    with pytest.raises(InvalidTransition):
                        store.set_order_status(session_id, target, "move", NOW)
                    kept = store.get_order(session_id)
                    assert kept is not None
                    assert (kept.status, kept.history) == (source, ()), (source, target)

    def test_setting_the_same_status_is_a_no_op(self, store: Store) -> None:
        order = make_order()
        store.create_order(order)
        assert store.set_order_status("cs_test_1", OrderStatus.PAID, "again", NOW) == order
        # Even where TRANSITIONS lists the status as its own successor.
        store.set_order_status("cs_test_1", OrderStatus.PARTIALLY_REFUNDED, "refund 1", NOW)
        again = store.set_order_status(
            "cs_test_1", OrderStatus.PARTIALLY_REFUNDED, "refund 2", NOW + SECOND
        )
        assert [event.note for event in again.history] == ["refund 1"]
        store.set_order_status("cs_test_1", OrderStatus.REFUNDED, "refund 3", NOW + SECOND)
        final = store.set_order_status("cs_test_1", OrderStatus.REFUNDED, "replay", NOW + SECOND)
        assert [event.note for event in final.history] == ["refund 1", "refund 3"]
        assert store.get_order("cs_test_1") == final

    def test_unknown_order_status_raises_key_error(self, store: Store) -> None:
        with pytest.raises(KeyError):
            store.set_order_status("cs_test_nope", OrderStatus.PAID, "x", NOW)

    def test_list_orders_newest_first(self, store: Store) -> None:
        created = {"cs_b": 2, "cs_a": 3, "cs_c": 1, "cs_d": 0}  # hours after NOW
        for session_id, hours in created.items():
            store.create_order(make_order(session_id, created_at=NOW + dt.timedelta(hours=hours)))
        store.set_order_status("cs_a", OrderStatus.FULFILLED, "shipped", NOW)
        orders = store.list_orders()
        assert [order.session_id for order in orders] == ["cs_a", "cs_b", "cs_c", "cs_d"]
        assert [event.note for event in orders[0].history] == ["shipped"]
        assert [order.session_id for order in store.list_orders(limit=2)] == ["cs_a", "cs_b"]
        assert store.list_orders(limit=0) == []

    # -- orders: the back room --------------------------------------------------------

    def test_find_orders_by_status_dates_email_and_sku(self, store: Store) -> None:
        other_lines = (OrderLine("BOL", "Bol", 1, eur(2400), eur(0), eur(2400), Decimal("20")),)
        for index, (status, email) in enumerate(
            [
                (OrderStatus.PAID, "lea@example.fr"),
                (OrderStatus.FULFILLED, "Lea@Example.FR"),
                (OrderStatus.PAID, "max@example.fr"),
                (OrderStatus.REFUNDED, "lea@example.fr"),
            ]
        ):
            order = make_order(
                f"cs_{index}", status=status, created_at=NOW + dt.timedelta(days=index)
            )
            if index == 2:
                order = replace(order, priced=replace(order.priced, lines=other_lines))
            store.create_order(replace(order, email=email))

        def found(query: OrderQuery, limit: int = 100) -> list[str]:
            return [order.session_id for order in store.find_orders(query, limit)]

        assert found(OrderQuery()) == ["cs_3", "cs_2", "cs_1", "cs_0"]
        assert found(OrderQuery(), limit=2) == ["cs_3", "cs_2"]
        assert found(OrderQuery(statuses=frozenset({OrderStatus.PAID}))) == ["cs_2", "cs_0"]
        day = dt.timedelta(days=1)
        assert found(OrderQuery(created_from=NOW + day, created_before=NOW + 3 * day)) == [
            "cs_2",
            "cs_1",
        ]
        assert found(OrderQuery(created_before=NOW + day)) == ["cs_0"]
        assert found(OrderQuery(email=" LEA@example.fr")) == ["cs_3", "cs_1", "cs_0"]
        assert found(OrderQuery(sku="BOL")) == ["cs_2"]
        assert found(OrderQuery(sku="THE-VERT", statuses=frozenset({OrderStatus.PAID}))) == ["cs_0"]
        assert found(OrderQuery(sku="NOPE")) == []
        assert found(OrderQuery(), limit=0) == []

    def test_find_an_order_by_its_number(self, store: Store) -> None:
        numbered = replace(make_order("cs_n"), number="CT-20260301-ABC123")
        store.create_order(numbered)
        store.create_order(replace(make_order("cs_m"), number="CT-20260301-ABC124"))
        assert store.find_order_by_number("CT-20260301-ABC123") == numbered
        assert store.find_order_by_number("CT-20260301-ABC12") is None
        assert store.find_order_by_number("CT-20260302-ABC123") is None

    def test_update_order_writes_the_change_atomically(self, make_store: MakeStore) -> None:
        store = make_store()
        store.create_order(make_order())
        shipment = Shipment(1, NOW, "colissimo", "8R1", "https://t/8R1", (), "test")

        def ship(order: Order) -> Order:
            return replace(
                order,
                shipments=(*order.shipments, replace(shipment, number=len(order.shipments) + 1)),
            )

        results = run_together(6, lambda _: make_store().update_order("cs_test_1", ship))
        assert not [r for r in results if isinstance(r, Exception)]
        stored = store.get_order("cs_test_1")
        assert stored is not None
        assert [s.number for s in stored.shipments] == [1, 2, 3, 4, 5, 6]

        def refuse(order: Order) -> Order:
            raise InvalidTransition("no")

        with pytest.raises(InvalidTransition):
            store.update_order("cs_test_1", refuse)
        assert store.get_order("cs_test_1") == stored
        assert store.update_order("cs_test_1", lambda order: order) == stored
        moved = store.update_order(
            "cs_test_1", lambda order: order.moved(OrderStatus.FULFILLED, "shipped", NOW)
        )
        assert store.get_order("cs_test_1") == moved
        assert store.find_orders(OrderQuery(statuses=frozenset({OrderStatus.FULFILLED}))) == [moved]
        with pytest.raises(KeyError):
            store.update_order("cs_test_nope", lambda order: order)

    def test_restock_puts_units_back_once_per_key(self, store: Store) -> None:
        store.sync_stock({"A": 5, "B": 5})
        store.reserve("k1", {"A": 3, "B": 1, "U": 1}, LATER, NOW)
        store.commit_reservation("k1", NOW)
        assert store.available(["A", "B"], NOW) == {"A": 2, "B": 4}
        assert store.restock("r1", "k1", {"A": 1, "U": 1}) is True
        assert store.restock("r1", "k1", {"A": 1}) is False
        assert store.available(["A", "B", "U"], NOW) == {"A": 3, "B": 4, "U": None}
        assert store.restock("r2", "k1", {"A": 9, "B": 1}) is True  # no more than was sold
        assert store.available(["A", "B"], NOW) == {"A": 5, "B": 5}

    def test_restock_forgets_recounted_cancelled_and_unknown_sales(self, store: Store) -> None:
        store.sync_stock({"A": 5})
        store.reserve("k1", {"A": 2}, LATER, NOW)
        store.commit_reservation("k1", NOW)
        store.sync_stock({"A": 4})  # the merchant counted the shelf, that sale included
        assert store.restock("r1", "k1", {"A": 2}) is True
        assert store.available(["A"], NOW) == {"A": 4}
        store.reserve("k2", {"A": 1}, LATER, NOW)
        store.commit_reservation("k2", NOW)
        store.cancel_sale("k2")
        assert store.restock("r2", "k2", {"A": 1}) is True
        assert store.restock("r3", "k-unknown", {"A": 1}) is True
        assert store.available(["A"], NOW) == {"A": 4}

    # -- checkouts ----------------------------------------------------------------

    def test_checkout_round_trip(self, store: Store) -> None:
        checkout = Checkout("cs_test_1", "hold_1", NOW, LATER, priced(), "c0ffee")
        store.save_checkout(checkout)
        assert store.get_checkout("cs_test_1") == checkout
        assert store.get_checkout("cs_test_2") is None

    def test_checkout_payment_link(self, store: Store) -> None:
        store.save_checkout(Checkout("cs_test_1", "hold_1", NOW, LATER, priced(), "c0ffee"))
        store.save_checkout(Checkout("cs_test_2", "hold_2", NOW, LATER, priced(), "c0ffee"))
        assert store.find_checkout_by_payment("pi_1") is None
        store.set_checkout_payment("cs_test_2", "pi_1")
        store.set_checkout_payment("cs_test_2", "pi_1")  # webhooks repeat themselves
        found = store.find_checkout_by_payment("pi_1")
        assert found == Checkout("cs_test_2", "hold_2", NOW, LATER, priced(), "c0ffee", "pi_1")
        assert store.get_checkout("cs_test_2") == found

    # -- events and codes ---------------------------------------------------------

    def test_an_event_is_claimed_once_for_good(self, make_store: MakeStore) -> None:
        store = make_store()
        assert store.claim_event("evt_1", NOW) is True
        assert store.claim_event("evt_1", NOW) is False
        assert store.claim_event("evt_2", NOW) is True
        reopened = make_store()
        assert reopened.claim_event("evt_1", NOW + dt.timedelta(days=3)) is False

    def test_a_released_event_can_be_claimed_again(self, store: Store) -> None:
        store.claim_event("evt_1", NOW)
        store.release_event("evt_1")
        assert store.claim_event("evt_1", NOW) is True
        store.release_event("evt_never_seen")  # no error

    def test_code_uses_count_once_per_session(self, store: Store) -> None:
        assert store.code_uses("BIENVENUE") == 0
        store.count_code_use("BIENVENUE", "cs_1")
        store.count_code_use("BIENVENUE", "cs_1")
        store.count_code_use("BIENVENUE", "cs_2")
        store.count_code_use("NOEL", "cs_1")
        assert store.code_uses("BIENVENUE") == 2
        assert store.code_uses("NOEL") == 1

    def test_limited_code_claims_are_atomic_and_given_back(self, store: Store) -> None:
        assert store.claim_code_use("UNEFOIS", "hold_a", 1)
        assert store.claim_code_use("UNEFOIS", "hold_a", 1)  # the same checkout again
        assert not store.claim_code_use("UNEFOIS", "hold_b", 1)
        assert store.code_uses("UNEFOIS") == 1
        store.count_code_use("UNEFOIS", "hold_a")  # paid: still one use
        assert store.code_uses("UNEFOIS") == 1
        store.release_code_use("UNEFOIS", "hold_a")
        store.release_code_use("UNEFOIS", "hold_a")
        assert store.code_uses("UNEFOIS") == 0
        assert store.claim_code_use("UNEFOIS", "hold_b", 1)

    def test_concurrent_claims_never_exceed_the_limit(self, make_store: MakeStore) -> None:
        handles = [make_store() for _ in range(4)]
        barrier = threading.Barrier(12)

        def claim(index: int) -> bool:
            barrier.wait()
            return handles[index % 4].claim_code_use("DEUX", f"hold_{index}", 2)

        with ThreadPoolExecutor(12) as pool:
            results = list(pool.map(claim, range(12)))
        assert results.count(True) == 2
        assert handles[0].code_uses("DEUX") == 2

    # -- customers ------------------------------------------------------------------

    def customer(self, store: Store, email: str) -> Customer | None:
        return store.get_customer(email)

    def test_customer_is_created_then_updated(self, store: Store) -> None:
        assert self.customer(store, "lea@example.fr") is None
        store.record_customer("lea@example.fr", "Léa", False, NOW)
        created = self.customer(store, "lea@example.fr")
        assert created is not None
        assert (created.name, created.marketing_consent, created.consent_at) == (
            "Léa",
            False,
            None,
        )
        store.record_customer("lea@example.fr", "Léa Dupont", False, LATER)
        updated = self.customer(store, "lea@example.fr")
        assert updated is not None
        assert updated.name == "Léa Dupont"

    def test_consent_is_only_widened_by_an_explicit_yes(self, store: Store) -> None:
        store.record_customer("lea@example.fr", "Léa", False, NOW)
        store.record_customer("lea@example.fr", "Léa", True, LATER)
        store.record_customer("lea@example.fr", "Léa", False, LATER + SECOND)
        customer = self.customer(store, "lea@example.fr")
        assert customer is not None
        assert (customer.marketing_consent, customer.consent_at) == (True, LATER)
        store.record_customer("lea@example.fr", "Léa", True, LATER + dt.timedelta(days=1))
        again = self.customer(store, "lea@example.fr")
        assert again is not None
        assert again.consent_at == LATER  # when consent was first given

    def test_customers_are_listed_by_address_with_where_consent_came_from(
        self, store: Store
    ) -> None:
        assert store.list_customers() == []
        store.record_customer("Zoe@Example.fr", "Zoé", False, NOW)
        store.record_customer("lea@example.fr", "Léa", True, NOW, consent_source="checkout")
        listed = store.list_customers()
        assert [c.email for c in listed] == ["lea@example.fr", "zoe@example.fr"]
        lea, zoe = listed
        assert (lea.marketing_consent, lea.consent_at, lea.consent_source) == (
            True,
            NOW,
            "checkout",
        )
        assert (zoe.marketing_consent, zoe.consent_source, zoe.consent_withdrawn_at) == (
            False,
            None,
            None,
        )

    def test_a_withdrawn_consent_comes_back_only_with_a_new_yes(self, store: Store) -> None:
        assert store.withdraw_consent("nobody@example.fr", NOW) is False
        store.record_customer("lea@example.fr", "Léa", True, NOW)
        assert store.withdraw_consent("LEA@example.fr", LATER) is True
        assert store.withdraw_consent("lea@example.fr", LATER + SECOND) is False  # done before
        withdrawn = self.customer(store, "lea@example.fr")
        assert withdrawn is not None
        assert (withdrawn.marketing_consent, withdrawn.consent_withdrawn_at) == (False, LATER)
        store.record_customer("lea@example.fr", "Léa", False, LATER + HOUR)  # a no: still out
        assert [c.marketing_consent for c in store.list_customers()] == [False]
        again_at = LATER + 2 * HOUR
        store.record_customer("lea@example.fr", "Léa", True, again_at, consent_source="checkout")
        again = self.customer(store, "lea@example.fr")
        assert again is not None
        assert (again.marketing_consent, again.consent_at) == (True, again_at)

    # -- mail outbox ------------------------------------------------------------------

    def test_mail_is_queued_once_per_key(self, store: Store) -> None:
        assert store.enqueue_mail(mail("confirmation:cs_1"), NOW) is True
        assert store.enqueue_mail(mail("confirmation:cs_1", to="other@example.fr"), NOW) is False
        [taken] = store.claim_due_mails(NOW, LATER)
        assert taken == mail("confirmation:cs_1", next_attempt_at=LATER)

    def test_due_mails_come_oldest_first_within_the_limit(self, store: Store) -> None:
        for minute, key in enumerate(["m1", "m2", "m3"]):
            store.enqueue_mail(mail(key), NOW + dt.timedelta(minutes=minute))
        late = NOW + dt.timedelta(hours=1)
        assert [m.key for m in store.claim_due_mails(late, late + SECOND, limit=2)] == [
            "m1",
            "m2",
        ]
        assert [m.key for m in store.claim_due_mails(late, late + SECOND)] == ["m3"]
        assert store.claim_due_mails(late, late + SECOND, limit=0) == []

    def test_a_mail_scheduled_later_is_not_due_before(self, store: Store) -> None:
        store.enqueue_mail(mail("shipping:cs_1", next_attempt_at=LATER), NOW)
        assert store.claim_due_mails(LATER - SECOND, LATER + SECOND) == []
        assert [m.key for m in store.claim_due_mails(LATER, LATER + SECOND)] == ["shipping:cs_1"]

    def test_claimed_mails_are_leased(self, make_store: MakeStore) -> None:
        store, other = make_store(), make_store()
        store.enqueue_mail(mail("m1"), NOW)
        lease = NOW + dt.timedelta(minutes=5)
        assert [m.next_attempt_at for m in store.claim_due_mails(NOW, lease)] == [lease]
        assert other.claim_due_mails(lease - SECOND, lease + dt.timedelta(minutes=5)) == []
        # The sender died: once the lease passes, the mail is due again.
        [again] = other.claim_due_mails(lease, lease + dt.timedelta(minutes=5))
        assert (again.key, again.attempts) == ("m1", 0)

    def test_a_sent_mail_is_never_due_again(self, store: Store) -> None:
        store.enqueue_mail(mail("m1"), NOW)
        store.claim_due_mails(NOW, LATER)
        store.mark_mail_sent("m1", NOW + SECOND)
        assert (
            store.claim_due_mails(NOW + dt.timedelta(days=365), NOW + dt.timedelta(days=366)) == []
        )
        store.mark_mail_failed("m1", "late report", NOW + dt.timedelta(days=1))
        assert store.claim_due_mails(NOW + dt.timedelta(days=2), NOW + dt.timedelta(days=3)) == []

    def test_a_failed_mail_is_due_again_at_retry_time(self, store: Store) -> None:
        store.enqueue_mail(mail("m1"), NOW)
        store.claim_due_mails(NOW, LATER)
        retry = NOW + dt.timedelta(minutes=10)
        store.mark_mail_failed("m1", "SMTP 451 try later", retry)
        lease = retry + dt.timedelta(minutes=5)
        assert store.claim_due_mails(retry - SECOND, lease) == []
        [again] = store.claim_due_mails(retry, lease)
        assert (again.attempts, again.last_error) == (1, "SMTP 451 try later")
        store.mark_mail_failed("m1", "SMTP 421 busy", retry)
        [third] = store.claim_due_mails(retry, lease)
        assert (third.attempts, third.last_error) == (2, "SMTP 421 busy")

    def test_a_dead_mail_is_never_due_again_and_keeps_its_key(self, store: Store) -> None:
        store.enqueue_mail(mail("confirmation:cs_1"), NOW)
        store.enqueue_mail(mail("merchant:cs_1"), NOW)
        store.claim_due_mails(NOW, LATER)
        store.mark_mail_dead("confirmation:cs_1", "SMTP 550 no such user", NOW + SECOND)
        store.mark_mail_failed("merchant:cs_1", "SMTP 451 try later", LATER)
        far = NOW + dt.timedelta(days=365)
        assert [m.key for m in store.claim_due_mails(far, far + SECOND)] == ["merchant:cs_1"]
        assert store.enqueue_mail(mail("confirmation:cs_1"), far) is False
        # A late report from a sender whose lease had passed does not revive it.
        store.mark_mail_failed("confirmation:cs_1", "SMTP 421 busy", LATER)
        store.mark_mail_dead("confirmation:cs_1", "again", LATER)
        assert store.claim_due_mails(far, far + SECOND) == []

    def test_a_sent_mail_cannot_die(self, store: Store) -> None:
        store.enqueue_mail(mail("m1"), NOW)
        store.enqueue_mail(mail("m2"), NOW)
        [first, second] = store.claim_due_mails(NOW, LATER)
        store.mark_mail_sent("m1", NOW + SECOND)
        store.mark_mail_dead("m1", "too late", NOW + SECOND)  # a no-op, not an error
        store.mark_mail_dead("m2", "SMTP 554 spam", NOW + SECOND)
        far = NOW + dt.timedelta(days=365)
        assert store.claim_due_mails(far, far + SECOND) == []
        assert (first.key, second.key) == ("m1", "m2")

    def test_a_mail_is_read_by_its_key_as_it_stands(self, store: Store) -> None:
        assert store.get_mail("supplier:atelier:cs_1") is None
        store.enqueue_mail(mail("supplier:atelier:cs_1"), NOW)
        assert store.get_mail("supplier:atelier:cs_1") == mail(
            "supplier:atelier:cs_1", next_attempt_at=NOW
        )
        store.claim_due_mails(NOW, LATER)
        store.mark_mail_failed("supplier:atelier:cs_1", "SMTP 451 try later", LATER)
        failed = store.get_mail("supplier:atelier:cs_1")
        assert failed is not None
        assert (failed.attempts, failed.last_error, failed.sent_at) == (
            1,
            "SMTP 451 try later",
            None,
        )
        store.mark_mail_sent("supplier:atelier:cs_1", LATER + SECOND)
        sent = store.get_mail("supplier:atelier:cs_1")
        assert sent is not None and sent.sent_at == LATER + SECOND

    def test_marking_an_unknown_mail_dead_is_a_key_error(self, store: Store) -> None:
        with pytest.raises(KeyError):
            store.mark_mail_dead("never-queued", "SMTP 550", NOW)

    # -- outgoing deliveries (webhooks) ----------------------------------------------------

    def test_a_delivery_is_queued_once_per_key_and_leased(self, make_store: MakeStore) -> None:
        store, other = make_store(), make_store()
        assert store.enqueue_delivery(delivery("webhook:e1:a"), NOW) is True
        assert store.enqueue_delivery(delivery("webhook:e1:a", body=b"{}"), NOW) is False
        store.enqueue_delivery(delivery("webhook:e2:a"), NOW + SECOND)
        store.enqueue_delivery(delivery("webhook:e3:a", next_attempt_at=LATER), NOW)
        lease = NOW + dt.timedelta(minutes=5)
        [taken] = store.claim_due_deliveries(NOW + SECOND, lease, limit=1)
        assert taken == delivery("webhook:e1:a", next_attempt_at=lease)
        assert [d.key for d in other.claim_due_deliveries(NOW + SECOND, lease)] == ["webhook:e2:a"]
        assert other.claim_due_deliveries(lease - SECOND, lease + SECOND) == []
        # The sender died: once the lease passes, the first is due again; later, all are,
        # oldest queued first.
        [again] = other.claim_due_deliveries(lease, LATER - SECOND, limit=1)
        assert (again.key, again.attempts) == ("webhook:e1:a", 0)
        assert [d.key for d in store.claim_due_deliveries(LATER, LATER + SECOND)] == [
            "webhook:e1:a",
            "webhook:e3:a",
            "webhook:e2:a",
        ]
        assert store.claim_due_deliveries(LATER, LATER + SECOND, limit=0) == []

    def test_a_delivery_is_read_by_its_key_as_it_stands(self, store: Store) -> None:
        assert store.get_delivery("supplier:e1") is None
        store.enqueue_delivery(delivery("supplier:e1"), NOW)
        assert store.get_delivery("supplier:e1") == delivery("supplier:e1", next_attempt_at=NOW)
        store.claim_due_deliveries(NOW, LATER)
        store.mark_delivery_failed("supplier:e1", "HTTP 503", LATER)
        failed = store.get_delivery("supplier:e1")
        assert failed is not None and (failed.attempts, failed.last_error) == (1, "HTTP 503")
        store.mark_delivery_sent("supplier:e1", LATER + SECOND)
        sent = store.get_delivery("supplier:e1")
        assert sent is not None and sent.sent_at == LATER + SECOND

    def test_a_failed_delivery_backs_off_a_sent_or_dead_one_is_never_due(
        self, store: Store
    ) -> None:
        for key in ("d1", "d2", "d3"):
            store.enqueue_delivery(delivery(key), NOW)
        store.claim_due_deliveries(NOW, LATER)
        retry = NOW + dt.timedelta(minutes=10)
        store.mark_delivery_failed("d1", "HTTP 500", retry)
        store.mark_delivery_sent("d2", NOW + SECOND)
        store.mark_delivery_dead("d3", "HTTP 410 Gone", NOW + SECOND)
        assert store.claim_due_deliveries(retry - SECOND, LATER) == []
        [again] = store.claim_due_deliveries(retry, LATER)
        assert (again.key, again.attempts, again.last_error) == ("d1", 1, "HTTP 500")
        # Late reports change nothing: sent stays sent, dead stays dead, keys stay taken.
        store.mark_delivery_failed("d2", "late", retry)
        store.mark_delivery_dead("d2", "late", retry)
        store.mark_delivery_failed("d3", "late", retry)
        store.mark_delivery_sent("d1", LATER)
        far = NOW + dt.timedelta(days=365)
        assert store.claim_due_deliveries(far, far + SECOND) == []
        assert store.enqueue_delivery(delivery("d3"), far) is False
        for mark in (
            lambda: store.mark_delivery_sent("nope", NOW),
            lambda: store.mark_delivery_failed("nope", "x", NOW),
            lambda: store.mark_delivery_dead("nope", "x", NOW),
        ):
            with pytest.raises(KeyError):
                mark()

    def test_deliveries_and_mails_are_separate_queues(self, store: Store) -> None:
        store.enqueue_mail(mail("same"), NOW)
        assert store.enqueue_delivery(delivery("same"), NOW) is True
        assert [m.key for m in store.claim_due_mails(NOW, LATER)] == ["same"]
        assert [d.key for d in store.claim_due_deliveries(NOW, LATER)] == ["same"]

    # -- concurrency ----------------------------------------------------------------------

    def test_twenty_buyers_of_the_last_unit(self, store: Store) -> None:
        store.sync_stock({"LAST": 1})

        def buy(index: int) -> str:
            store.reserve(f"k{index}", {"LAST": 1}, LATER, NOW)
            level = store.available(["LAST"], NOW)["LAST"]
            assert level is not None and level >= 0
            return f"k{index}"

        outcomes = run_together(20, buy)
        winners = [o for o in outcomes if isinstance(o, str)]
        refused = [o for o in outcomes if isinstance(o, InsufficientStock)]
        assert len(winners) == 1, outcomes
        assert len(refused) == 19, outcomes
        assert all(error.available == 0 for error in refused)
        assert store.available(["LAST"], NOW) == {"LAST": 0}
        assert store.commit_reservation(winners[0], NOW)
        assert store.available(["LAST"], LATER) == {"LAST": 0}

    def test_duplicate_webhooks_make_one_order_and_one_sale(self, make_store: MakeStore) -> None:
        setup = make_store()
        setup.sync_stock({"A": 5})
        setup.reserve("hold_1", {"A": 2}, LATER, NOW)
        handles = [make_store() for _ in range(5)]

        def deliver(index: int) -> tuple[bool, bool, bool]:
            store = handles[index % len(handles)]
            # Stripe retries one event and sends its sibling (same session).
            event = "evt_completed" if index % 2 else "evt_async_succeeded"
            created = store.create_order(make_order("cs_test_1"))
            committed = store.commit_reservation("hold_1", NOW)
            claimed = store.claim_event(event, NOW)
            return created, committed, claimed

        outcomes = run_together(10, deliver)
        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
        flags = cast(list[tuple[bool, bool, bool]], outcomes)
        assert sum(created for created, _, _ in flags) == 1
        assert sum(committed for _, committed, _ in flags) == 1
        assert sum(claimed for _, _, claimed in flags) == 2
        assert [o.session_id for o in setup.list_orders()] == ["cs_test_1"]
        assert setup.available(["A"], LATER) == {"A": 3}

    def test_concurrent_senders_each_get_a_mail_once(self, store: Store) -> None:
        for index in range(30):
            store.enqueue_mail(mail(f"m{index:02}"), NOW)

        def send(index: int) -> list[str]:
            taken: list[str] = []
            for _ in range(30):  # bounded: a store that never leases must fail, not hang
                batch = store.claim_due_mails(NOW, LATER, limit=3)
                if not batch:
                    break
                taken += [m.key for m in batch]
            return taken

        outcomes = run_together(10, send)
        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
        keys = Counter(key for taken in cast(list[list[str]], outcomes) for key in taken)
        assert keys == Counter(f"m{index:02}" for index in range(30))

    def test_concurrent_order_creation_keeps_one(self, store: Store) -> None:
        outcomes = run_together(10, lambda i: store.create_order(make_order(total=100 + i)))
        assert sorted(outcomes, key=str) == [False] * 9 + [True]
        [kept] = store.list_orders()
        assert kept.total.amount == 100 + outcomes.index(True)

    # -- numbered documents (invoices) -----------------------------------------------

    def test_documents_are_numbered_from_one_each_year(self, store: Store) -> None:
        first = store.issue_document("invoice:a", 2026, {"says": "é €"})
        second = store.issue_document("credit:a:1", 2026, {"n": 2})
        other_year = store.issue_document("invoice:b", 2027, {"n": 1})
        assert (first.year, first.sequence, first.key) == (2026, 1, "invoice:a")
        assert dict(first.body) == {"says": "é €"}
        assert (second.sequence, other_year.sequence) == (2, 1)
        assert store.get_document(2026, 2) == second
        assert store.get_document(2026, 3) is None
        assert store.find_document("invoice:b") == other_year
        assert store.find_document("invoice:z") is None
        assert [d.key for d in store.list_documents(2026)] == ["invoice:a", "credit:a:1"]
        assert store.list_documents(2025) == []

    def test_a_key_is_issued_once_with_its_first_body(self, make_store: MakeStore) -> None:
        first = make_store().issue_document("invoice:a", 2026, {"v": 1})
        again = make_store().issue_document("invoice:a", 2027, {"v": 2})
        assert again == first
        assert make_store().list_documents(2027) == []

    def test_concurrent_issuers_make_one_gapless_sequence(self, make_store: MakeStore) -> None:
        """Webhooks for 12 orders, each delivered twice at once, on 4 handles: 12 numbers,
        1 to 12, each key once, and every retry gets its key's own number."""
        handles = [make_store() for _ in range(4)]

        def issue(index: int) -> IssuedDocument:
            key = f"invoice:cs_{index % 12}"
            return handles[index % 4].issue_document(key, 2026, {"order": key})

        outcomes = run_together(24, issue)
        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
        issued = cast(list[IssuedDocument], outcomes)
        by_key: dict[str, set[int]] = {}
        for document in issued:
            by_key.setdefault(document.key, set()).add(document.sequence)
            assert document.body == {"order": document.key}
        assert all(len(numbers) == 1 for numbers in by_key.values()), by_key
        stored = handles[0].list_documents(2026)
        assert [d.sequence for d in stored] == list(range(1, 13))
        assert sorted(d.key for d in stored) == sorted(by_key)

    # -- returns (issue 13: returns and withdrawal) -----------------------------------------

    def test_orders_are_found_by_number(self, store: Store) -> None:
        store.create_order(make_order("cs_test_1"))
        store.create_order(make_order("cs_test_2"))
        [found] = store.find_orders_by_number("CT-cs_test_2")
        assert found.session_id == "cs_test_2"
        assert store.find_orders_by_number("CT-cs_test_9") == []

    def test_a_return_round_trips_and_is_created_once(self, store: Store) -> None:
        ret = make_return("CT-cs_test_1-R1")
        assert store.create_return(ret) is True
        assert store.create_return(replace(ret, contact_name="Autre")) is False
        assert store.get_return("CT-cs_test_1-R1") == ret
        assert store.get_return("CT-cs_test_1-R9") is None

    def test_returns_are_listed_newest_first_for_all_or_one_order(self, store: Store) -> None:
        store.create_return(make_return("CT-cs_test_1-R1", created_at=NOW))
        store.create_return(make_return("CT-cs_test_2-R1", "cs_test_2", created_at=NOW + SECOND))
        store.create_return(make_return("CT-cs_test_1-R2", created_at=NOW + 2 * SECOND))
        assert [r.rid for r in store.list_returns()] == [
            "CT-cs_test_1-R2",
            "CT-cs_test_2-R1",
            "CT-cs_test_1-R1",
        ]
        assert [r.rid for r in store.list_returns("cs_test_1")] == [
            "CT-cs_test_1-R2",
            "CT-cs_test_1-R1",
        ]
        assert [r.rid for r in store.list_returns(limit=1)] == ["CT-cs_test_1-R2"]
        assert store.list_returns("cs_test_9") == []

    def test_a_return_moves_only_from_the_status_it_is_in(self, store: Store) -> None:
        ret = make_return("CT-cs_test_1-R1")
        store.create_return(ret)
        received = ret.moved(ReturnStatus.RECEIVED, "received", LATER, received_at=LATER)
        assert store.update_return(received, ReturnStatus.REQUESTED) is True
        assert store.update_return(received, ReturnStatus.REQUESTED) is False  # a replay
        assert store.get_return(ret.rid) == received
        with pytest.raises(KeyError):
            store.update_return(make_return("CT-cs_test_1-R7"), ReturnStatus.REQUESTED)

    def test_concurrent_receipts_of_a_return_let_one_through(self, store: Store) -> None:
        ret = make_return("CT-cs_test_1-R1")
        store.create_return(ret)
        received = ret.moved(ReturnStatus.RECEIVED, "received", LATER)
        outcomes = run_together(8, lambda i: store.update_return(received, ReturnStatus.REQUESTED))
        assert sorted(outcomes, key=str) == [False] * 7 + [True]

    def test_a_returns_restock_goes_through_its_sale_once(self, store: Store) -> None:
        store.sync_stock({"A": 3})
        store.reserve("k1", {"A": 3, "FREE": 1}, LATER, NOW)
        store.commit_reservation("k1", NOW)
        assert store.available(["A"], NOW) == {"A": 0}
        assert store.restock("return:R1", "k1", {"A": 2, "FREE": 1}) is True
        assert store.restock("return:R1", "k1", {"A": 2, "FREE": 1}) is False
        assert store.available(["A", "FREE"], NOW) == {"A": 2, "FREE": None}
        assert store.restock("return:R2", "k1", {"A": 1}) is True
        assert store.available(["A"], NOW) == {"A": 3}


def make_return(
    rid: str, session_id: str = "cs_test_1", *, created_at: dt.datetime = NOW
) -> ReturnRequest:
    return ReturnRequest(
        rid=rid,
        session_id=session_id,
        order_number=f"CT-{session_id}",
        source=ReturnSource.WITHDRAWAL,
        status=ReturnStatus.REQUESTED,
        created_at=created_at,
        lines=(ReturnLine("THE-VERT", "Thé vert « Sencha »", 2),),
        delivered_on=dt.date(2026, 2, 27),
        request_deadline=dt.date(2026, 3, 13),
        contact_name="Léa Dupont",
        contact_address="12 rue des Écoles\n75005 Paris",
        history=(ReturnEvent(created_at, ReturnStatus.REQUESTED, "withdrawal"),),
    )


# -- personal data (GDPR) ------------------------------------------------------------

PSEUDONYM = "forgotten-0123456789abcdef@invalid"


class PersonalDataContract:
    """Mixed into ``StoreContract``: access, erasure and retention of personal data."""

    def _person(self, store: Store) -> None:
        """Léa: a customer with consent, two orders (one with a withdrawal), mails to her
        and about her, and an invoice; Max, another customer, to be left alone."""
        store.record_customer("Lea@Example.fr", "Léa Dupont", True, NOW)
        store.create_order(make_order("cs_lea_1"))
        store.create_order(make_order("cs_lea_2", created_at=NOW + HOUR))
        store.create_return(make_return("CT-cs_lea_1-W", "cs_lea_1"))
        store.enqueue_mail(mail("confirmation:cs_lea_1", to="LEA@example.fr"), NOW)
        sent = mail("confirmation:cs_lea_2")
        store.enqueue_mail(sent, NOW)
        store.mark_mail_sent(sent.key, NOW)
        notice = replace(mail("merchant:cs_lea_1", to="shop@example.fr"), about="lea@example.fr")
        store.enqueue_mail(notice, NOW)
        store.issue_document("invoice:cs_lea_1", 2026, {"buyer": "Léa Dupont lea@example.fr"})
        store.record_customer("max@example.fr", "Max Martin", True, NOW)
        other = replace(make_order("cs_max_1"), email="max@example.fr", customer_name="Max")
        store.create_order(other)
        store.enqueue_mail(mail("confirmation:cs_max_1", to="max@example.fr"), NOW)

    def test_personal_data_gathers_everything_keyed_by_a_person(self, store: Store) -> None:
        self._person(store)
        data = store.personal_data(" LEA@example.FR ")
        assert data.customer is not None and data.customer.name == "Léa Dupont"
        assert [o.session_id for o in data.orders] == ["cs_lea_2", "cs_lea_1"]
        assert [r.rid for r in data.returns] == ["CT-cs_lea_1-W"]
        assert sorted(m.key for m in data.mails) == [
            "confirmation:cs_lea_1",
            "confirmation:cs_lea_2",
            "merchant:cs_lea_1",
        ]
        assert store.personal_data("nobody@example.fr").orders == ()

    def test_forget_leaves_nothing_of_the_person_and_keeps_documents(self, store: Store) -> None:
        self._person(store)
        report = store.forget_customer("lea@EXAMPLE.fr", PSEUDONYM, LATER)
        assert (report.customer, report.orders, report.returns, report.mails) == (True, 2, 1, 3)
        assert store.personal_data("lea@example.fr") == PersonalData(None, (), (), ())
        for session in ("cs_lea_1", "cs_lea_2"):
            order = store.get_order(session)
            assert order is not None
            assert (order.email, order.customer_name, order.marketing_consent) == (
                PSEUDONYM,
                "",
                False,
            )
            assert order.shipping_address == Address("", "", "", "", "", "FR")
            assert order.total == make_order().total  # the accounting stays
        ret = store.get_return("CT-cs_lea_1-W")
        assert ret is not None and (ret.contact_name, ret.contact_address) == ("", "")
        found = store.find_orders(OrderQuery(email=PSEUDONYM))
        assert {o.session_id for o in found} == {"cs_lea_1", "cs_lea_2"}
        assert store.find_orders(OrderQuery(email="lea@example.fr")) == []
        # Its mails keep their keys (never queued again) and are never sent.
        assert store.enqueue_mail(mail("confirmation:cs_lea_1"), LATER) is False
        due = store.claim_due_mails(LATER + HOUR, LATER + 2 * HOUR)
        assert [m.key for m in due] == ["confirmation:cs_max_1"]
        document = store.find_document("invoice:cs_lea_1")
        assert document is not None
        assert document.body == {"buyer": "Léa Dupont lea@example.fr"}  # as issued
        # Max is untouched.
        other = store.personal_data("max@example.fr")
        assert other.customer is not None and len(other.orders) == 1 and len(other.mails) == 1

    def test_forget_is_idempotent(self, store: Store) -> None:
        self._person(store)
        assert store.forget_customer("lea@example.fr", PSEUDONYM, LATER).changed
        again = store.forget_customer("lea@example.fr", PSEUDONYM, LATER + HOUR)
        assert again == ForgetReport(False, 0, 0, 0) and not again.changed
        assert store.forget_customer("nobody@example.fr", PSEUDONYM, LATER).changed is False
        with pytest.raises(ValueError):
            store.forget_customer("  ", PSEUDONYM, LATER)

    def test_people_for_purge_are_those_not_seen_since_the_cutoff(self, store: Store) -> None:
        self._person(store)
        store.record_customer("new@example.fr", "Nouvelle", False, NOW + 3 * HOUR)
        people = store.list_people_for_purge(NOW + 2 * HOUR)
        assert {p.email for p in people} == {"lea@example.fr", "max@example.fr"}
        assert all(p.last_seen < NOW + 2 * HOUR for p in people)
        assert store.list_people_for_purge(NOW) == []
        store.forget_customer("lea@example.fr", PSEUDONYM, LATER)
        later = store.list_people_for_purge(NOW + 4 * HOUR)
        assert {p.email for p in later} == {"max@example.fr", "new@example.fr"}
        assert len(store.list_people_for_purge(NOW + 4 * HOUR, limit=1)) == 1
