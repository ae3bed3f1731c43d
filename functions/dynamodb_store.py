"""The store on one DynamoDB table (boto3's low-level client), for the functions on Lambda.

Selected with ``COMPTOIR_STORE=dynamodb://TABLE``. The client is boto3's, configured
the standard way (``AWS_REGION``/``AWS_DEFAULT_REGION``, credentials, and
``AWS_ENDPOINT_URL`` for a local emulator such as moto): nothing here knows about
emulators. boto3 is imported on first use, so a cold start that never touches the
store does not pay for it.

The table (template.yaml declares the same): partition key ``pk`` (S), sort key
``sk`` (S), one global secondary index ``gsi1`` on ``gsi1pk``/``gsi1sk`` (S,
projecting everything), TTL on ``expires`` (epoch seconds), pay-per-request.

Items (``{x}`` is a value; times are fixed-width UTC ISO text, so text order is time order)::

    item             pk                sk         gsi1pk                gsi1sk
    stock of a SKU   SKU#{sku}         STOCK      -                     -
    a SKU's sale     SKU#{sku}         SALE#{committed_at}#{key}  -     -
    correction       STOCKADJ          {at}#{sku}#{id}  -               -
    tracked SKUs     STOCK             SKUS       -                     -
    hold             HOLD#{key}        HOLD       EXPIRES#{yyyy-mm-dd}  {expires_at}#{key}
    sale             HOLD#{key}        SALE       -                     -
    units put back   HOLD#{sale key}   RESTOCK#{key} -                  -
    order            ORDER#{session}   ORDER      ORDERS                {created_at}#{session}
    checkout         CHECKOUT#{sess.}  CHECKOUT   PAYMENT#{intent}      {created_at}#{session}
    event claim      EVENT#{id}        EVENT      -                     -
    code use         CODE#{code}       USE#{key}  -                     -
    code use count   CODE#{code}       COUNT      -                     -
    customer         CUSTOMER#{email}  CUSTOMER   CUSTOMERS             {updated_at}#{email}
    person's order   CUSTOMER#{email}  ORDER#{session} -                -
    person's mail    CUSTOMER#{email}  MAIL#{key} -                     -
    outbox mail      MAIL#{key}        MAIL       OUTBOX (while unsent) {next_attempt_at}#{key}
    delivery         DELIVERY#{key}    DELIVERY   DELIVERIES (unsent)   {next_attempt_at}#{key}
    sweep cursor     SWEEP             HOLDS      -                     -
    document counter DOCS#{year}       COUNTER    -                     -
    document         DOCS#{year}       DOC#{seq:09} -                   -
    document key     DOCKEY#{key}      DOCKEY     -                     -
    order by number  NUMBER#{number}   ORDER#{session} -                -
    return           RETURN#{rid}      RETURN     RETURNS               {created_at}#{rid}
    order's return   ORDER#{session}   RETURN#{rid} -                   -
    restock done     RESTOCK#{key}     RESTOCK    -                     -

Access patterns (none scans; every read that decides a write is strongly consistent):

    available(skus)             GetItem SKU#{sku}/STOCK per SKU
    reserve                     GetItem the hold and each SKU's stock, then one
                                TransactWriteItems: every SKU's stock (conditions below)
                                + the hold Put (conditioned on the version read)
    commit / release / cancel   GetItem hold or sale and the SKUs' stock, then one
                                TransactWriteItems (sale Put attribute_not_exists)
    oversold                    GetItem the sale (its lines' ``short``, set by commit)
    sweep expired holds         Query gsi1 EXPIRES#{day} (gsi1sk < now), day by day
                                from the cursor; one conditional UpdateItem per SKU
    sync_stock (each cold start) GetItem STOCK/SKUS + BatchGetItem the counts; writes
                                only for changed counts (conditional UpdateItem; a dated
                                count first Queries SKU#{sku} SALE#... after its date)
    set_stock                   GetItem + TransactWriteItems (stock Update + correction Put)
    stock_levels                GetItem STOCK/SKUS, GetItem per SKU
    stock_adjustments           Query STOCKADJ, descending, Limit
    create/get/move order       Put attribute_not_exists / GetItem / Put on ``rev``
    list_orders (newest first)  Query gsi1 ORDERS, descending, Limit
    find_orders                 Query gsi1 ORDERS between the dates asked (gsi1sk range),
                                descending, page by page; status, e-mail and SKU are
                                checked on each decoded order until ``limit`` match
    find_order_by_number        Query gsi1 ORDERS from the number's day on (an order is
                                made on or after its checkout's day, which the number
                                names), FilterExpression on the number in ``data``
    update_order                GetItem, then Put conditioned on ``rev`` (retried)
    restock                     GetItem the sale and the SKUs' stock, then one
                                TransactWriteItems: RESTOCK#{key} Put attribute_not_exists
                                + each SKU's stock (``count_id`` unchanged)
    find_checkout_by_payment    Query gsi1 PAYMENT#{intent}, ascending, Limit 1
    claim/release event         Put attribute_not_exists / DeleteItem
    code uses                   TransactWriteItems: USE#{key} Put attribute_not_exists
                                + COUNT update (``uses < limit`` when limited)
    record_customer             one UpdateItem (if_not_exists widens consent only); a yes
                                from someone not consenting: a second UpdateItem dating it
    list_customers              Query gsi1 CUSTOMERS (customers recorded before issue 14
                                are listed once they are recorded again, at their next order)
    withdraw_consent            UpdateItem conditioned on ``consent`` being true
    personal_data               Query CUSTOMER#{email} (the record and the person's
                                pointers, written with each order and each mail in their
                                transaction), GetItem each; their orders' returns as above
    forget_customer             the same reads, then per item: the order via update_order,
                                each return and mail an UpdateItem conditioned on what was
                                read; the pointers and the record deleted last, so a forget
                                cut short is finished by the next one
    list_people_for_purge       Query gsi1 CUSTOMERS (gsi1sk < cutoff), ascending, Limit
    outbox                      Put attribute_not_exists; Query gsi1 OUTBOX
                                (gsi1sk <= now), then a conditional lease per mail
    deliveries                  the same as the outbox, on gsi1 DELIVERIES
    issue_document              GetItem DOCKEY#{key}, GetItem the year's counter, then one
                                TransactWriteItems: the key's Put attribute_not_exists +
                                the counter's Update conditioned on the value read + the
                                document's Put attribute_not_exists (no gap, no duplicate)
    get / find / list documents GetItem DOCS#{year}/DOC#{seq} (via DOCKEY#{key});
                                Query DOCS#{year} begins_with DOC#
    find_orders_by_number       Query NUMBER#{number} (written with the order, in
                                create_order's transaction), GetItem each order
    returns                     create: TransactWriteItems (return Put attribute_not_exists
                                + the order's pointer); update: Put on ``status``;
                                list: Query gsi1 RETURNS descending, or the order's
                                RETURN# pointers then GetItem each
    restock                     TransactWriteItems: RESTOCK#{key} Put attribute_not_exists
                                + each tracked SKU's stock (sold - q, spare + q)

Stock. A SKU's stock item holds ``baseline`` (the merchant's count), ``sold`` (since
that count), ``count_id`` (changes with each new count, so a recount forgets earlier
sales), ``held`` and ``spare = baseline - sold - held``, and ``holds``: a map from hold
key to ``{q, exp}``, the holds counted in ``held``. DynamoDB conditions cannot compute
``baseline - sold - held``, so ``spare`` is kept by every update, and a reservation is
conditioned on ``spare >= needed``: two Lambdas racing for the last unit cannot both
pass, whatever the interleaving. A hold past its ``exp`` no longer counts:
``available()`` adds expired entries back (one GetItem: an exact snapshot), and
``reserve()`` removes other keys' expired entries from the counters in the very
transaction that reserves (conditioned on each entry being unchanged). The sweep
(``release_expired_holds``) does the same for SKUs nobody reserves. An expired hold
that was released from the counters keeps its hold item, so a late payment still
sells its units (``commit_reservation`` then takes them from ``spare``, which may go
below zero: oversold, which the merchant sees). Correctness never depends on TTL:
it only deletes hold items ``HOLD_RETENTION`` after their expiry (longer than Stripe
keeps retrying a webhook), and the counters live in the stock items, which TTL never
touches. Sales, orders, event claims, code uses and mails are kept for good.

People. Orders and mails recorded before the per-person pointers existed, and customer
records last updated before the ``CUSTOMERS`` index existed, are not found by
``personal_data``, ``forget_customer`` or ``list_people_for_purge``: those tables need
a one-off backfill (a scan, run by hand, never by the functions).

Dated counts. Each sale also writes, per tracked SKU, an item ``SKU#{sku}`` /
``SALE#{committed_at}#{key}`` (its quantity), deleted when the sale is cancelled: a
dated count reads those after its date to know what sold since. The stock item keeps
``counted_at`` (absent: undated), and ``synced``/``synced_at``, the count last synced
from files (a correction by hand changes the count in force, not those). A count is
put in force on the condition that ``count_id`` and ``sold`` are as read, so a sale
committed meanwhile makes it read again.

Limits: one reservation takes at most ``MAX_TRACKED_LINES`` tracked SKUs (one
transaction holds 100 items: a sale writes two per SKU); a SKU's stock item holds its
live holds (400 KB: some thousands at once). Every botocore error becomes a
``StoreError`` at the boundary.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

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
    PurgeCandidate,
    StockAdjustment,
    StockCount,
    StockHold,
    StockLevel,
    Store,
    StoreError,
    adopts_count,
    forgotten_order,
    forgotten_return,
    is_pseudonym,
    person_key,
)
from shop.orders import (
    Order,
    OrderFormatError,
    OrderStatus,
    decode_order,
    decode_priced,
    encode_order,
    encode_priced,
)
from shop.returns import ReturnRequest, ReturnStatus, decode_return, encode_return

T = TypeVar("T")
SCHEME = "dynamodb://"
HOLD_RETENTION = dt.timedelta(days=7)  # Stripe retries a webhook for up to 3 days
SWEEP_LOOKBACK = dt.timedelta(days=30)  # where a first sweep starts
MAX_TRACKED_LINES = 49  # two items each + sale and hold: TransactWriteItems' 100 items
MAX_ATTEMPTS = 60  # optimistic retries; each failure means another writer progressed
LAPSE_PER_WRITE = 20  # expired entries a reservation drops at once (expression size)

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]


class _ConditionFailed(Exception):
    """A conditional write found the item not as expected."""


class _Cancelled(Exception):
    """A transaction was cancelled; ``reasons`` holds one code per item ("None": fine)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = reasons

    def failed(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index] == "ConditionalCheckFailed"


class _Retry(Exception):
    """Another writer changed what this one read: read again and retry."""


@dataclass(frozen=True, slots=True)
class _Stock:
    sku: str
    spare: int
    count_id: str
    holds: dict[str, tuple[int, str]]  # hold key -> (quantity, expires_at text)
    baseline: int = 0
    sold: int = 0
    counted_at: str | None = None  # None: undated

    def expired(self, now: str, excluding: str | None = None) -> dict[str, tuple[int, str]]:
        return {k: e for k, e in self.holds.items() if e[1] <= now and k != excluding}


@dataclass(frozen=True, slots=True)
class _Hold:
    key: str
    lines: dict[str, int]
    expires_at: str
    version: str


class DynamoDBStore:
    """The ``Store`` on one DynamoDB table; ``client`` is a boto3 DynamoDB client (one
    is made from the environment when None). ``create_table`` makes the table when it
    is missing: a local convenience (``comptoir serve``), never for production, where
    the table belongs to the infrastructure template."""

    def __init__(self, table_name: str, *, client: Any = None, create_table: bool = False) -> None:
        if not table_name:
            raise ValueError("a DynamoDB store needs a table name")
        self.table = table_name
        self._client = client if client is not None else _new_client()
        if create_table:
            self._create_table()

    # -- stock --------------------------------------------------------------

    def sync_stock(self, levels: Mapping[str, int | StockCount]) -> None:
        counts = {sku: _stock_count(level) for sku, level in levels.items()}
        known = self._tracked_skus()
        states = self._count_states(list(counts))
        changed = {}
        for sku, new in counts.items():
            synced, counted_at = states.get(sku, (None, None))
            if adopts_count(synced, counted_at, new):
                changed[sku] = new
        if not changed and known == set(counts):
            return  # every cold start syncs: the usual case costs reads only
        # Listed first as the union, so every stock item that may exist stays listed
        # whatever step a crash interrupts.
        self._set_tracked_skus(known | set(counts))
        for sku, new in changed.items():
            self._retrying(functools.partial(self._recount_once, sku, new, synced=True))
        for sku in known - set(counts):
            self._call("delete_item", Key=_key(f"SKU#{sku}", "STOCK"))
        self._set_tracked_skus(set(counts))

    def _count_states(self, skus: list[str]) -> dict[str, tuple[StockCount, dt.datetime | None]]:
        """Each tracked SKU's count last synced and when the count in force was made."""
        found: dict[str, tuple[StockCount, dt.datetime | None]] = {}
        for start in range(0, len(skus), 100):
            request: dict[str, Any] = {
                self.table: {
                    "Keys": [_key(f"SKU#{sku}", "STOCK") for sku in skus[start : start + 100]],
                    "ConsistentRead": True,
                    "ProjectionExpression": "pk, baseline, synced, synced_at, counted_at",
                }
            }
            while request:
                page = self._request("batch_get_item", RequestItems=request)
                for item in page.get("Responses", {}).get(self.table, []):
                    found[_str(item["pk"]).removeprefix("SKU#")] = _count_state(item)
                request = page.get("UnprocessedKeys") or {}
        return found

    def _recount_once(
        self,
        sku: str,
        new: StockCount,
        *,
        synced: bool,
        adjustment: tuple[str, dt.datetime] | None = None,
    ) -> int | None:
        """Put ``new`` in force for ``sku`` (dated: minus what sold after it), unless a
        file's count (``synced``) no longer replaces the one in force; its holds stay
        counted. With ``adjustment`` (reason, at): a correction, recorded with what was
        available before, which it returns (None: nothing done)."""
        item = self._get(_key(f"SKU#{sku}", "STOCK"))
        if synced and item is not None and not adopts_count(*_count_state(item), new=new):
            return None  # another cold start got there first
        if adjustment is not None and item is None:
            raise KeyError(sku)
        at = None if new.counted_at is None else _text(new.counted_at)
        sold = 0 if at is None else self._sold_after(sku, at)
        sets = [
            "baseline = :n",
            "sold = :sold",
            "count_id = :cid",
            "held = if_not_exists(held, :zero)",
            "holds = if_not_exists(holds, :none)",
            "spare = :left - if_not_exists(held, :zero)",
        ]
        removed = []
        values: dict[str, AttributeValue] = {
            ":n": _n(new.count),
            ":sold": _n(sold),
            ":left": _n(new.count - sold),
            ":zero": _n(0),
            ":cid": _s(uuid.uuid4().hex),
            ":none": {"M": {}},
        }
        if at is None:
            removed.append("counted_at")
        else:
            sets.append("counted_at = :at")
            values[":at"] = _s(at)
        if synced:
            sets.append("synced = :n")
            if at is None:
                removed.append("synced_at")
            else:
                sets.append("synced_at = :at")
        if item is None:
            condition = "attribute_not_exists(pk)"
        else:
            condition = "count_id = :oldcid AND sold = :oldsold"
            values |= {":oldcid": item["count_id"], ":oldsold": item["sold"]}
        expression = "SET " + ", ".join(sets)
        if removed:
            expression += " REMOVE " + ", ".join(removed)
        update = {
            "TableName": self.table,
            "Key": _key(f"SKU#{sku}", "STOCK"),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        writes: list[dict[str, Any]] = [{"Update": update}]
        previous = None
        if adjustment is not None and item is not None:
            reason, when = adjustment
            stock = _stock_of(sku, item)
            previous = stock.spare + sum(q for q, _ in stock.expired(_text(when)).values())
            writes.append(
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": {
                            **_key("STOCKADJ", f"{_text(when)}#{sku}#{uuid.uuid4().hex}"),
                            "sku": _s(sku),
                            "count": _n(new.count),
                            "previous": _n(previous),
                            "reason": _s(reason),
                            "at": _s(_text(when)),
                        },
                    }
                }
            )
        try:
            self._transact(writes)
        except _Cancelled as cancelled:
            raise _Retry from cancelled
        return previous

    def _sold_after(self, sku: str, at: str) -> int:
        """Units of ``sku`` sold (and not cancelled) after the moment ``at``."""
        return sum(
            _int(item["q"])
            for item in self._query(
                KeyConditionExpression="pk = :p AND sk BETWEEN :lo AND :hi",
                ExpressionAttributeValues={
                    ":p": _s(f"SKU#{sku}"),
                    ":lo": _s(f"SALE#{at}"),
                    ":hi": _s("SALE$"),
                },
                ConsistentRead=True,
            )
            if _str(item["sk"]).removeprefix("SALE#").partition("#")[0] > at
        )

    def set_stock(self, sku: str, count: int, reason: str, now: dt.datetime) -> StockAdjustment:
        new = _stock_count(StockCount(count, now))
        previous = self._retrying(
            lambda: self._recount_once(sku, new, synced=False, adjustment=(reason, now))
        )
        return StockAdjustment(sku, count, previous or 0, reason, now)

    def stock_levels(self, now: dt.datetime, skus: Sequence[str] | None = None) -> list[StockLevel]:
        at = _text(now)
        tracked = self._tracked_skus()
        chosen = sorted(tracked if skus is None else tracked & set(skus))
        levels = []
        for sku in chosen:
            stock = self._stock(sku)
            if stock is None:
                continue
            holds = sorted(
                (
                    StockHold(key, q, _time(exp))
                    for key, (q, exp) in stock.holds.items()
                    if exp > at
                ),
                key=lambda hold: (hold.expires_at, hold.key),
            )
            levels.append(
                StockLevel(
                    sku,
                    stock.baseline,
                    None if stock.counted_at is None else _time(stock.counted_at),
                    stock.count_id,
                    stock.sold,
                    tuple(holds),
                )
            )
        return levels

    def stock_adjustments(self, limit: int = 100) -> list[StockAdjustment]:
        if limit <= 0:
            return []
        items = self._query(
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": _s("STOCKADJ")},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [
            StockAdjustment(
                _str(item["sku"]),
                _int(item["count"]),
                _int(item["previous"]),
                _str(item["reason"]),
                _time(_str(item["at"])),
            )
            for item in _first(items, limit)
        ]

    def _tracked_skus(self) -> set[str]:
        item = self._get(_key("STOCK", "SKUS"))
        return set() if item is None else {_str(v) for v in item["skus"]["L"]}

    def _set_tracked_skus(self, skus: set[str]) -> None:
        self._call(
            "put_item",
            Item={**_key("STOCK", "SKUS"), "skus": {"L": [_s(sku) for sku in sorted(skus)]}},
        )

    def available(self, skus: Sequence[str], now: dt.datetime) -> dict[str, int | None]:
        at = _text(now)
        levels: dict[str, int | None] = {}
        for sku in skus:
            stock = self._stock(sku)
            if stock is None:
                levels[sku] = None
            else:
                back = sum(quantity for quantity, _ in stock.expired(at).values())
                levels[sku] = max(stock.spare + back, 0)
        return levels

    def reserve(
        self, key: str, quantities: Mapping[str, int], expires_at: dt.datetime, now: dt.datetime
    ) -> None:
        if any(quantity < 1 for quantity in quantities.values()):
            raise ValueError(f"quantities must be positive: {dict(quantities)!r}")
        until, at = _text(expires_at), _text(now)
        self._retrying(lambda: self._reserve_once(key, dict(quantities), until, at))

    def _reserve_once(self, key: str, quantities: dict[str, int], until: str, now: str) -> None:
        previous = self._hold(key)
        skus = list(quantities) + [
            s for s in (previous.lines if previous else {}) if s not in quantities
        ]
        stocks = {sku: self._stock(sku) for sku in skus}
        tracked = [s for s in quantities if stocks[s] is not None]
        if len(tracked) > MAX_TRACKED_LINES:
            raise StoreError(f"a reservation takes at most {MAX_TRACKED_LINES} tracked SKUs")
        writes: list[dict[str, Any]] = []
        for sku in skus:
            stock = stocks[sku]
            if stock is None:
                continue
            wanted = quantities.get(sku, 0)
            own = stock.holds.get(key)
            expired = stock.expired(now, excluding=key)
            left = stock.spare + (own[0] if own else 0) + sum(q for q, _ in expired.values())
            if wanted > left:
                raise InsufficientStock(sku, max(left, 0))
            if len(expired) > LAPSE_PER_WRITE:
                # More than one expression can drop (the sweep is late): drop a batch
                # on its own, then start again.
                self._lapse(stock, dict(list(expired.items())[:LAPSE_PER_WRITE]))
                raise _Retry
            if own is None and not wanted and not expired:
                continue
            writes.append(self._hold_update(stock, key, own, wanted, until, expired))
        if len(writes) >= 100:
            raise StoreError(f"a reservation takes at most {MAX_TRACKED_LINES} tracked SKUs")
        hold = self._hold_item(key, quantities, until)
        writes.append({"Put": {"TableName": self.table, "Item": hold, **_unchanged(previous)}})
        try:
            self._transact(writes)
        except _Cancelled as cancelled:
            raise _Retry from cancelled

    def _hold_update(
        self,
        stock: _Stock,
        key: str,
        own: tuple[int, str] | None,
        wanted: int,
        until: str,
        lapsed: Mapping[str, tuple[int, str]],
    ) -> dict[str, Any]:
        """One SKU's part of a reservation: its own entry replaced, expired ones dropped.

        ``spare`` must cover what this update takes; the entries it replaces or drops
        must still be the ones read (else another writer got there first: retry).
        """
        names = {"#own": key}
        values: dict[str, AttributeValue] = {}
        conditions = []
        if own is None:
            conditions.append("attribute_not_exists(holds.#own)")
        else:
            conditions.append("holds.#own.q = :ownq AND holds.#own.exp = :ownexp")
            values |= {":ownq": _n(own[0]), ":ownexp": _s(own[1])}
        removed = []
        for index, (other, (quantity, expiry)) in enumerate(lapsed.items()):
            names[f"#x{index}"] = other
            values |= {f":xq{index}": _n(quantity), f":xe{index}": _s(expiry)}
            conditions.append(
                f"holds.#x{index}.q = :xq{index} AND holds.#x{index}.exp = :xe{index}"
            )
            removed.append(f"holds.#x{index}")
        delta = wanted - (own[0] if own else 0) - sum(q for q, _ in lapsed.values())
        values[":d"] = _n(delta)
        if delta > 0:
            conditions.append("spare >= :d")
        sets = ["held = held + :d", "spare = spare - :d"]
        if wanted:
            sets.append("holds.#own = :entry")
            values[":entry"] = {"M": {"q": _n(wanted), "exp": _s(until)}}
        else:
            removed.append("holds.#own")
        expression = "SET " + ", ".join(sets)
        if removed:
            expression += " REMOVE " + ", ".join(removed)
        return {
            "Update": {
                "TableName": self.table,
                "Key": _key(f"SKU#{stock.sku}", "STOCK"),
                "UpdateExpression": expression,
                "ConditionExpression": " AND ".join(conditions),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def _hold_item(self, key: str, quantities: Mapping[str, int], until: str) -> Item:
        expiry = dt.datetime.fromisoformat(until) + HOLD_RETENTION
        return {
            **_key(f"HOLD#{key}", "HOLD"),
            "key": _s(key),
            "lines": {"M": {sku: _n(q) for sku, q in quantities.items()}},
            "expires_at": _s(until),
            "version": _s(uuid.uuid4().hex),
            # Indexed by the day it expires, for the sweep; TTL only once long settled.
            "gsi1pk": _s(f"EXPIRES#{until[:10]}"),
            "gsi1sk": _s(f"{until}#{key}"),
            "expires": _n(int(expiry.timestamp())),
        }

    def _lapse(self, stock: _Stock, entries: Mapping[str, tuple[int, str]]) -> bool:
        """Take expired holds out of one SKU's counters, if they are still as read."""
        names: dict[str, str] = {}
        values: dict[str, AttributeValue] = {":t": _n(sum(q for q, _ in entries.values()))}
        conditions, removed = [], []
        for index, (key, (quantity, expiry)) in enumerate(entries.items()):
            names[f"#x{index}"] = key
            values |= {f":xq{index}": _n(quantity), f":xe{index}": _s(expiry)}
            conditions.append(
                f"holds.#x{index}.q = :xq{index} AND holds.#x{index}.exp = :xe{index}"
            )
            removed.append(f"holds.#x{index}")
        try:
            self._call(
                "update_item",
                Key=_key(f"SKU#{stock.sku}", "STOCK"),
                UpdateExpression="SET held = held - :t, spare = spare + :t REMOVE "
                + ", ".join(removed),
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except _ConditionFailed:
            return False  # someone else already moved them
        return True

    def commit_reservation(self, key: str, now: dt.datetime) -> bool:
        at = _text(now)
        return self._retrying(lambda: self._commit_once(key, at))

    def _commit_once(self, key: str, at: str) -> bool:
        hold = self._hold(key)
        sold: dict[str, AttributeValue] = {}
        writes: list[dict[str, Any]] = []
        for sku, quantity in (hold.lines if hold else {}).items():
            stock = self._stock(sku)
            if stock is None:  # untracked: sold, but from no count
                sold[sku] = {"M": {"q": _n(quantity), "count": {"NULL": True}}}
                continue
            writes.append(
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": {**_key(f"SKU#{sku}", f"SALE#{at}#{key}"), "q": _n(quantity)},
                    }
                }
            )
            own = stock.holds.get(key)
            sold[sku] = {"M": {"q": _n(quantity), "count": _s(stock.count_id)}}
            if hold is not None and hold.expires_at <= at:  # lapsed: is the stock still free?
                free = stock.spare + (own[0] if own else 0)
                free += sum(q for q, _ in stock.expired(at, excluding=key).values())
                if free < quantity:
                    sold[sku]["M"]["short"] = _n(quantity - max(free, 0))
            values = {":q": _n(quantity), ":c": _s(stock.count_id)}
            if own is None:
                # Its hold expired and was given back: the sale takes from what is spare.
                expression = "SET sold = sold + :q, spare = spare - :q"
                condition = "count_id = :c AND attribute_not_exists(holds.#k)"
            else:
                expression = "SET sold = sold + :q, held = held - :h, spare = spare + :d"
                expression += " REMOVE holds.#k"
                condition = "count_id = :c AND holds.#k.q = :h AND holds.#k.exp = :e"
                values |= {":h": _n(own[0]), ":e": _s(own[1]), ":d": _n(own[0] - quantity)}
            writes.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _key(f"SKU#{sku}", "STOCK"),
                        "UpdateExpression": expression,
                        "ConditionExpression": condition,
                        "ExpressionAttributeNames": {"#k": key},
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        sale = {
            **_key(f"HOLD#{key}", "SALE"),
            "lines": {"M": sold},
            "committed_at": _s(at),
            "cancelled": {"BOOL": False},
        }
        hold_key = _key(f"HOLD#{key}", "HOLD")
        head: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": sale,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {"Delete": {"TableName": self.table, "Key": hold_key, **_unchanged(hold)}}
            if hold
            else {"ConditionCheck": {"TableName": self.table, "Key": hold_key, **_unchanged(None)}},
        ]
        try:
            self._transact(head + writes)
        except _Cancelled as cancelled:
            if cancelled.failed(0):
                return False  # sold (or cancelled) before: once only
            raise _Retry from cancelled
        return True

    def oversold(self, key: str) -> dict[str, int]:
        sale = self._get(_key(f"HOLD#{key}", "SALE"))
        lines = {} if sale is None else sale["lines"]["M"]
        short = {sku: line["M"]["short"] for sku, line in lines.items() if "short" in line["M"]}
        return {sku: _int(units) for sku, units in sorted(short.items())}

    def release_reservation(self, key: str) -> bool:
        return self._retrying(lambda: self._release_once(key))

    def _release_once(self, key: str) -> bool:
        hold = self._hold(key)
        if hold is None:
            return False  # never held, released, or sold: a sale is never released
        writes: list[dict[str, Any]] = [
            {
                "Delete": {
                    "TableName": self.table,
                    "Key": _key(f"HOLD#{key}", "HOLD"),
                    **_unchanged(hold),
                }
            }
        ]
        for sku in hold.lines:
            stock = self._stock(sku)
            own = None if stock is None else stock.holds.get(key)
            if own is None:
                continue  # untracked, or expired and given back already
            writes.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _key(f"SKU#{sku}", "STOCK"),
                        "UpdateExpression": "SET held = held - :q, spare = spare + :q"
                        " REMOVE holds.#k",
                        "ConditionExpression": "holds.#k.q = :q AND holds.#k.exp = :e",
                        "ExpressionAttributeNames": {"#k": key},
                        "ExpressionAttributeValues": {":q": _n(own[0]), ":e": _s(own[1])},
                    }
                }
            )
        try:
            self._transact(writes)
        except _Cancelled as cancelled:
            raise _Retry from cancelled
        return True

    def cancel_sale(self, key: str) -> bool:
        return self._retrying(lambda: self._cancel_once(key))

    def _cancel_once(self, key: str) -> bool:
        sale = self._get(_key(f"HOLD#{key}", "SALE"))
        if sale is None or sale["cancelled"]["BOOL"]:
            return False
        writes: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": _key(f"HOLD#{key}", "SALE"),
                    "UpdateExpression": "SET cancelled = :yes",
                    "ConditionExpression": "cancelled = :no",
                    "ExpressionAttributeValues": {":yes": {"BOOL": True}, ":no": {"BOOL": False}},
                }
            }
        ]
        committed_at = _str(sale["committed_at"])
        for sku, line in sale["lines"]["M"].items():
            count = line["M"]["count"].get("S")
            if count is None:
                continue  # untracked when sold
            writes.append(
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": _key(f"SKU#{sku}", f"SALE#{committed_at}#{key}"),
                    }
                }
            )
            stock = self._stock(sku)
            if stock is None:
                continue
            if stock.count_id == count:
                condition, values = "count_id = :c", {":c": _s(count)}
            elif stock.counted_at is not None and committed_at > stock.counted_at:
                # Sold after the dated count in force: that count subtracted it.
                condition = "count_id = :c AND counted_at = :at"
                values = {":c": _s(stock.count_id), ":at": _s(stock.counted_at)}
            else:
                continue  # sold from a count the merchant has since replaced: forgotten
            writes.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _key(f"SKU#{sku}", "STOCK"),
                        "UpdateExpression": "SET sold = sold - :q, spare = spare + :q",
                        "ConditionExpression": condition,
                        "ExpressionAttributeValues": {":q": line["M"]["q"], **values},
                    }
                }
            )
        try:
            self._transact(writes)
        except _Cancelled as cancelled:
            if cancelled.failed(0):
                return False
            raise _Retry from cancelled
        return True

    def release_expired_holds(self, now: dt.datetime) -> int:
        """The sweep: release the holds expired at ``now`` (their stock back, the holds
        gone, as ``release_reservation`` would); how many gave stock back.

        Walks the expiry index a day at a time from the last day not fully swept, so
        it reads only holds that expired since (never the whole table). Only a
        convenience for SKUs nobody reserves: reservations drop expired holds
        themselves and availability never counts them.
        """
        at = _text(now)
        today = now.astimezone(dt.UTC).date()
        cursor = self._get(_key("SWEEP", "HOLDS"))
        day = (
            today - SWEEP_LOOKBACK if cursor is None else dt.date.fromisoformat(_str(cursor["day"]))
        )
        released = 0
        while day <= today:
            for item in self._query(
                IndexName="gsi1",
                KeyConditionExpression="gsi1pk = :p AND gsi1sk < :b",
                ExpressionAttributeValues={
                    ":p": _s(f"EXPIRES#{day.isoformat()}"),
                    ":b": _s(at + "$"),
                },
            ):
                released += self._lapse_hold(_str(item["key"]), at)
            if day < today:  # a whole day behind us, swept: never read again
                self._call(
                    "put_item",
                    Item={
                        **_key("SWEEP", "HOLDS"),
                        "day": _s((day + dt.timedelta(days=1)).isoformat()),
                    },
                )
            day += dt.timedelta(days=1)
        return released

    def _lapse_hold(self, key: str, at: str) -> bool:
        hold = self._hold(key)
        if hold is None or hold.expires_at > at:
            return False  # gone, or reserved again for longer
        dropped = False
        for sku in hold.lines:
            stock = self._stock(sku)
            own = None if stock is None else stock.holds.get(key)
            if stock is not None and own is not None and own[1] <= at:
                dropped |= self._lapse(stock, {key: own})
        # Released, as SQLite's sweep does: the hold is gone (the scheduled pass sweeps
        # only holds expired beyond Stripe's retries, so no late payment can still come).
        # A failed condition: it was reserved again meanwhile, under its new expiry.
        with contextlib.suppress(_ConditionFailed):
            self._call("delete_item", Key=_key(f"HOLD#{key}", "HOLD"), **_unchanged(hold))
        return dropped

    def _stock(self, sku: str) -> _Stock | None:
        item = self._get(_key(f"SKU#{sku}", "STOCK"))
        return None if item is None else _stock_of(sku, item)

    def _hold(self, key: str) -> _Hold | None:
        item = self._get(_key(f"HOLD#{key}", "HOLD"))
        if item is None:
            return None
        lines = {sku: _int(q) for sku, q in item["lines"]["M"].items()}
        return _Hold(key, lines, _str(item["expires_at"]), _str(item["version"]))

    # -- orders -------------------------------------------------------------

    def create_order(self, order: Order) -> bool:
        item = {
            **_key(f"ORDER#{order.session_id}", "ORDER"),
            "data": _s(_json(encode_order(order))),
            "rev": _n(0),
            "gsi1pk": _s("ORDERS"),
            "gsi1sk": _s(f"{_text(order.created_at)}#{order.session_id}"),
        }
        # With it, the order's number leads to it (find_orders_by_number), and its
        # shopper's address too (personal_data, forget_customer).
        by_number = _key(f"NUMBER#{order.number}", f"ORDER#{order.session_id}")
        by_person = _key(f"CUSTOMER#{person_key(order.email)}", f"ORDER#{order.session_id}")
        return self._put_new(item, by_number, by_person)

    def get_order(self, session_id: str) -> Order | None:
        item = self._get(_key(f"ORDER#{session_id}", "ORDER"))
        return None if item is None else _order(item)

    def set_order_status(
        self, session_id: str, status: OrderStatus, note: str, now: dt.datetime
    ) -> Order:
        return self.update_order(session_id, lambda o: o.moved(OrderStatus(status), note, now))

    def list_orders(self, limit: int = 100) -> list[Order]:
        if limit <= 0:
            return []
        items = self._query(
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :p",
            ExpressionAttributeValues={":p": _s("ORDERS")},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_order(item) for item in _first(items, limit)]

    # -- returns --------------------------------------------------------------

    def find_orders_by_number(self, number: str) -> list[Order]:
        pointers = self._query(
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": _s(f"NUMBER#{number}")},
            ConsistentRead=True,
        )
        orders = []
        for pointer in pointers:
            session = _str(pointer["sk"]).removeprefix("ORDER#")
            order = self.get_order(session)
            if order is not None:
                orders.append(order)
        return orders

    def create_return(self, ret: ReturnRequest) -> bool:
        item = {
            **_key(f"RETURN#{ret.rid}", "RETURN"),
            "status": _s(ret.status.value),
            "data": _s(_json(encode_return(ret))),
            "gsi1pk": _s("RETURNS"),
            "gsi1sk": _s(f"{_text(ret.created_at)}#{ret.rid}"),
        }
        pointer = _key(f"ORDER#{ret.session_id}", f"RETURN#{ret.rid}")
        return self._put_new(item, pointer)

    def get_return(self, rid: str) -> ReturnRequest | None:
        item = self._get(_key(f"RETURN#{rid}", "RETURN"))
        return None if item is None else _return(item)

    def list_returns(self, session_id: str | None = None, limit: int = 100) -> list[ReturnRequest]:
        if limit <= 0:
            return []
        if session_id is None:
            items = self._query(
                IndexName="gsi1",
                KeyConditionExpression="gsi1pk = :p",
                ExpressionAttributeValues={":p": _s("RETURNS")},
                ScanIndexForward=False,
                Limit=limit,
            )
            return [_return(item) for item in _first(items, limit)]
        pointers = self._query(
            KeyConditionExpression="pk = :p AND begins_with(sk, :r)",
            ExpressionAttributeValues={":p": _s(f"ORDER#{session_id}"), ":r": _s("RETURN#")},
            ConsistentRead=True,
        )
        found = [
            ret
            for pointer in pointers
            if (ret := self.get_return(_str(pointer["sk"]).removeprefix("RETURN#"))) is not None
        ]
        found.sort(key=lambda r: (r.created_at, r.rid), reverse=True)
        return found[:limit]

    def update_return(self, ret: ReturnRequest, expected: ReturnStatus) -> bool:
        try:
            self._call(
                "update_item",
                Key=_key(f"RETURN#{ret.rid}", "RETURN"),
                UpdateExpression="SET #status = :status, #data = :data",
                ConditionExpression="attribute_exists(pk) AND #status = :expected",
                ExpressionAttributeNames={"#status": "status", "#data": "data"},
                ExpressionAttributeValues={
                    ":status": _s(ret.status.value),
                    ":data": _s(_json(encode_return(ret))),
                    ":expected": _s(expected.value),
                },
            )
        except _ConditionFailed:
            if self._get(_key(f"RETURN#{ret.rid}", "RETURN")) is None:
                raise KeyError(ret.rid) from None
            return False
        return True

    def find_orders(self, query: OrderQuery, limit: int = 100) -> list[Order]:
        if limit <= 0:
            return []
        bounds = ["gsi1pk = :p"]
        values: Item = {":p": _s("ORDERS")}
        if query.created_from is not None:
            bounds.append("gsi1sk >= :from")
            values[":from"] = _s(_text(query.created_from))
        if query.created_before is not None:
            bounds.append("gsi1sk < :before")
            values[":before"] = _s(_text(query.created_before))
        if len(bounds) == 3:  # a key condition takes one range: BETWEEN is inclusive
            bounds[1:] = ["gsi1sk BETWEEN :from AND :before"]
        email = None if query.email is None else query.email.strip().lower()
        found: list[Order] = []
        for item in self._query(
            IndexName="gsi1",
            KeyConditionExpression=" AND ".join(bounds),
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
        ):
            order = _order(item)
            if query.created_before is not None and order.created_at >= query.created_before:
                continue  # BETWEEN let an order of that very instant in
            if query.statuses and order.status not in query.statuses:
                continue
            if email is not None and order.email.strip().lower() != email:
                continue
            if query.sku is not None and all(ln.sku != query.sku for ln in order.priced.lines):
                continue
            found.append(order)
            if len(found) == limit:
                break  # before the next page is asked for
        return found

    def find_order_by_number(self, number: str) -> Order | None:
        # CT-YYYYMMDD-XXXXXX: the order was made on that (UTC) day or later.
        day = re.fullmatch(r"[A-Z]+-(\d{4})(\d{2})(\d{2})-\w+", number)
        condition = "gsi1pk = :p"
        values: Item = {":p": _s("ORDERS"), ":n": _s(_json({"number": number})[1:-1])}
        if day is not None:
            condition += " AND gsi1sk >= :day"
            values[":day"] = _s("-".join(day.groups()))
        for item in self._query(
            IndexName="gsi1",
            KeyConditionExpression=condition,
            FilterExpression="contains(#data, :n)",
            ExpressionAttributeNames={"#data": "data"},
            ExpressionAttributeValues=values,
        ):
            order = _order(item)
            if order.number == number:
                return order
        return None

    def update_order(self, session_id: str, change: Callable[[Order], Order]) -> Order:
        def write() -> Order:
            item = self._get(_key(f"ORDER#{session_id}", "ORDER"))
            if item is None:
                raise KeyError(session_id)
            order = _order(item)
            changed = change(order)
            if changed == order:
                return order
            try:
                self._call(
                    "update_item",
                    Key=_key(f"ORDER#{session_id}", "ORDER"),
                    UpdateExpression="SET #data = :data, rev = rev + :one",
                    ConditionExpression="rev = :rev",
                    ExpressionAttributeNames={"#data": "data"},
                    ExpressionAttributeValues={
                        ":data": _s(_json(encode_order(changed))),
                        ":one": _n(1),
                        ":rev": item["rev"],
                    },
                )
            except _ConditionFailed as changed_meanwhile:
                raise _Retry from changed_meanwhile
            return changed

        return self._retrying(write)

    def restock(self, key: str, sale_key: str, quantities: Mapping[str, int]) -> bool:
        return self._retrying(lambda: self._restock_once(key, sale_key, quantities))

    def _restock_once(self, key: str, sale_key: str, quantities: Mapping[str, int]) -> bool:
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": _key(f"HOLD#{sale_key}", f"RESTOCK#{key}"),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        sale = self._get(_key(f"HOLD#{sale_key}", "SALE"))
        live = sale is not None and not sale["cancelled"]["BOOL"]
        lines = sale["lines"]["M"] if sale is not None and live else {}
        # What earlier keys put back, per SKU: never more than the sale sold in all.
        before = json.loads(_str(sale["restocked"])) if sale and "restocked" in sale else {}
        after = dict(before)
        for sku, wanted in quantities.items():
            line = lines.get(sku)
            count = None if line is None else line["M"]["count"].get("S")
            stock = self._stock(sku)
            if line is None or count is None or stock is None or stock.count_id != count:
                continue  # untracked, or sold from a count the merchant has since replaced
            quantity = min(max(wanted, 0), _int(line["M"]["q"]) - before.get(sku, 0))
            if quantity <= 0:
                continue
            after[sku] = before.get(sku, 0) + quantity
            writes.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _key(f"SKU#{sku}", "STOCK"),
                        "UpdateExpression": "SET sold = sold - :q, spare = spare + :q",
                        "ConditionExpression": "count_id = :c",
                        "ExpressionAttributeValues": {":q": _n(quantity), ":c": _s(count)},
                    }
                }
            )
        if sale is not None and live:  # the sale as read: not cancelled, same units put back
            unchanged = "attribute_not_exists(restocked)" if not before else "restocked = :b"
            values: Item = {":no": {"BOOL": False}, ":a": _s(_json(after))}
            if before:
                values[":b"] = sale["restocked"]
            writes.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _key(f"HOLD#{sale_key}", "SALE"),
                        "UpdateExpression": "SET restocked = :a",
                        "ConditionExpression": f"cancelled = :no AND {unchanged}",
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        try:
            self._transact(writes)
        except _Cancelled as cancelled:
            if cancelled.failed(0):
                return False  # this key put its units back before
            raise _Retry from cancelled
        return True

    # -- checkouts ------------------------------------------------------------

    def save_checkout(self, checkout: Checkout) -> None:
        data = {"priced": encode_priced(checkout.priced), "catalog_hash": checkout.catalog_hash}
        item = {
            **_key(f"CHECKOUT#{checkout.session_id}", "CHECKOUT"),
            "hold_key": _s(checkout.hold_key),
            "created_at": _s(_text(checkout.created_at)),
            "expires_at": _s(_text(checkout.expires_at)),
            "data": _s(_json(data)),
            # Indexed (by payment) only once gsi1pk is set too: see set_checkout_payment.
            "gsi1sk": _s(f"{_text(checkout.created_at)}#{checkout.session_id}"),
        }
        if checkout.payment_intent is not None:
            item["payment_intent"] = _s(checkout.payment_intent)
            item["gsi1pk"] = _s(f"PAYMENT#{checkout.payment_intent}")
        self._call("put_item", Item=item)

    def get_checkout(self, session_id: str) -> Checkout | None:
        item = self._get(_key(f"CHECKOUT#{session_id}", "CHECKOUT"))
        return None if item is None else _checkout(item)

    def find_checkout_by_payment(self, payment_intent: str) -> Checkout | None:
        items = self._query(
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :p",
            ExpressionAttributeValues={":p": _s(f"PAYMENT#{payment_intent}")},
            Limit=1,
        )
        found = _first(items, 1)
        return _checkout(found[0]) if found else None

    def set_checkout_payment(self, session_id: str, payment_intent: str) -> None:
        try:
            self._call(
                "update_item",
                Key=_key(f"CHECKOUT#{session_id}", "CHECKOUT"),
                UpdateExpression="SET payment_intent = :pi, gsi1pk = :p",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={
                    ":pi": _s(payment_intent),
                    ":p": _s(f"PAYMENT#{payment_intent}"),
                },
            )
        except _ConditionFailed:
            raise KeyError(session_id) from None

    # -- events and codes -----------------------------------------------------

    def claim_event(self, event_id: str, now: dt.datetime) -> bool:
        item = {**_key(f"EVENT#{event_id}", "EVENT"), "claimed_at": _s(_text(now))}
        try:
            self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")
        except _ConditionFailed:
            return False
        return True

    def release_event(self, event_id: str) -> None:
        self._call("delete_item", Key=_key(f"EVENT#{event_id}", "EVENT"))

    def count_code_use(self, code: str, session_id: str) -> None:
        def count() -> None:
            try:
                self._transact(self._code_use(code, session_id, limit=None))
            except _Cancelled as cancelled:
                if not cancelled.failed(0):  # else counted before: once per session
                    raise _Retry from cancelled

        self._retrying(count)

    def claim_code_use(self, code: str, key: str, limit: int) -> bool:
        if limit < 1:
            return self._get(_key(f"CODE#{code}", f"USE#{key}")) is not None

        def claim() -> bool:
            try:
                self._transact(self._code_use(code, key, limit))
            except _Cancelled as cancelled:
                if cancelled.failed(0):
                    return True  # this checkout's claim, made before
                if cancelled.failed(1):
                    return False  # the limit is reached
                raise _Retry from cancelled
            return True

        return self._retrying(claim)

    def _code_use(self, code: str, key: str, limit: int | None) -> list[dict[str, Any]]:
        """A use item (once per key) and the code's counter, in one transaction."""
        counter: dict[str, Any] = {
            "TableName": self.table,
            "Key": _key(f"CODE#{code}", "COUNT"),
            "UpdateExpression": "SET uses = if_not_exists(uses, :zero) + :one",
            "ExpressionAttributeValues": {":zero": _n(0), ":one": _n(1)},
        }
        if limit is not None:
            counter["ConditionExpression"] = "attribute_not_exists(uses) OR uses < :limit"
            counter["ExpressionAttributeValues"][":limit"] = _n(limit)
        use = {**_key(f"CODE#{code}", f"USE#{key}")}
        return [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": use,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {"Update": counter},
        ]

    def release_code_use(self, code: str, key: str) -> None:
        def release() -> None:
            writes = [
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": _key(f"CODE#{code}", f"USE#{key}"),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _key(f"CODE#{code}", "COUNT"),
                        "UpdateExpression": "SET uses = uses - :one",
                        "ExpressionAttributeValues": {":one": _n(1)},
                    }
                },
            ]
            try:
                self._transact(writes)
            except _Cancelled as cancelled:
                if not cancelled.failed(0):  # else given back before
                    raise _Retry from cancelled

        self._retrying(release)

    def code_uses(self, code: str) -> int:
        item = self._get(_key(f"CODE#{code}", "COUNT"))
        return 0 if item is None else _int(item["uses"])

    # -- customers ----------------------------------------------------------

    def record_customer(
        self,
        email: str,
        name: str,
        marketing_consent: bool,
        now: dt.datetime,
        consent_source: str = "checkout",
    ) -> None:
        at = _s(_text(now))
        key = _email_key(email)
        sets = [
            "email = :email",
            "created_at = if_not_exists(created_at, :at)",
            "updated_at = :at",
            # By last update, for the retention purge (list_people_for_purge).
            "gsi1pk = :customers",
            "gsi1sk = :seen",
            # An empty name never erases a known one.
            "#name = :name" if name else "#name = if_not_exists(#name, :name)",
            "consent = if_not_exists(consent, :no)",  # a no never narrows it
        ]
        self._call(
            "update_item",
            Key=_key(f"CUSTOMER#{key}", "CUSTOMER"),
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeNames={"#name": "name"},
            ExpressionAttributeValues={
                ":email": _s(key),
                ":at": at,
                ":customers": _s("CUSTOMERS"),
                ":seen": _s(f"{_text(now)}#{_email_key(email)}"),
                ":name": _s(name),
                ":no": {"BOOL": False},
            },
        )
        if not marketing_consent:
            return
        # A yes from someone not consenting (never, or since a withdrawal) is dated now;
        # from someone consenting it changes nothing.
        with contextlib.suppress(_ConditionFailed):
            self._call(
                "update_item",
                Key=_key(f"CUSTOMER#{key}", "CUSTOMER"),
                UpdateExpression="SET consent = :yes, consent_at = :at, consent_source = :source",
                ConditionExpression="consent = :no",
                ExpressionAttributeValues={
                    ":yes": {"BOOL": True},
                    ":no": {"BOOL": False},
                    ":at": at,
                    ":source": _s(consent_source),
                },
            )

    def get_customer(self, email: str) -> Customer | None:
        item = self._get(_key(f"CUSTOMER#{_email_key(email)}", "CUSTOMER"))
        return None if item is None else _customer(item)

    def list_customers(self) -> list[Customer]:
        items = self._query(
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :customers",
            ExpressionAttributeValues={":customers": _s("CUSTOMERS")},
        )
        return [_customer(item) for item in items]

    def withdraw_consent(self, email: str, now: dt.datetime) -> bool:
        at = _s(_text(now))
        try:
            self._call(
                "update_item",
                Key=_key(f"CUSTOMER#{_email_key(email)}", "CUSTOMER"),
                UpdateExpression="SET consent = :no, consent_withdrawn_at = :at, updated_at = :at",
                ConditionExpression="consent = :yes",
                ExpressionAttributeValues={
                    ":yes": {"BOOL": True},
                    ":no": {"BOOL": False},
                    ":at": at,
                },
            )
        except _ConditionFailed:
            return False
        return True

    # -- mail outbox --------------------------------------------------------

    def enqueue_mail(self, mail: OutgoingMail, now: dt.datetime) -> bool:
        fields: Item = {"to": _s(mail.to), "message": {"B": mail.message}}
        item = _queued_item("MAIL", "OUTBOX", mail, now, fields)
        if mail.about:
            item["about"] = _s(mail.about)
        # Filed under the person it is about too (personal_data, forget_customer).
        by_person = _key(f"CUSTOMER#{mail.person}", f"MAIL#{mail.key}")
        return self._put_new(item, by_person)

    def claim_due_mails(
        self, now: dt.datetime, lease_until: dt.datetime, limit: int = 20
    ) -> list[OutgoingMail]:
        return self._claim_due("MAIL", "OUTBOX", _mail, now, lease_until, limit)

    def mark_mail_sent(self, key: str, now: dt.datetime) -> None:
        self._mark_sent("MAIL", key, now)

    def mark_mail_failed(self, key: str, error: str, retry_at: dt.datetime) -> None:
        self._mark_failed("MAIL", key, error, retry_at)

    def mark_mail_dead(self, key: str, error: str, now: dt.datetime) -> None:
        self._mark_dead("MAIL", key, error, now)

    def get_mail(self, key: str) -> OutgoingMail | None:
        item = self._get(_key(f"MAIL#{key}", "MAIL"))
        return None if item is None else _mail(item)

    # -- outgoing deliveries (webhooks): the outbox's ways, on their own index ---------

    def enqueue_delivery(self, delivery: OutgoingDelivery, now: dt.datetime) -> bool:
        fields: Item = {
            "channel": _s(delivery.channel),
            "target": _s(delivery.target),
            "body": {"B": delivery.body},
        }
        item = _queued_item("DELIVERY", "DELIVERIES", delivery, now, fields)
        try:
            self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")
        except _ConditionFailed:
            return False
        return True

    def claim_due_deliveries(
        self, now: dt.datetime, lease_until: dt.datetime, limit: int = 20
    ) -> list[OutgoingDelivery]:
        return self._claim_due("DELIVERY", "DELIVERIES", _delivery, now, lease_until, limit)

    def mark_delivery_sent(self, key: str, now: dt.datetime) -> None:
        self._mark_sent("DELIVERY", key, now)

    def mark_delivery_failed(self, key: str, error: str, retry_at: dt.datetime) -> None:
        self._mark_failed("DELIVERY", key, error, retry_at)

    def mark_delivery_dead(self, key: str, error: str, now: dt.datetime) -> None:
        self._mark_dead("DELIVERY", key, error, now)

    def get_delivery(self, key: str) -> OutgoingDelivery | None:
        item = self._get(_key(f"DELIVERY#{key}", "DELIVERY"))
        return None if item is None else _delivery(item)

    # -- the two queues' common ways: items ``<kind>#<key>``/``<kind>``, the unsent ones
    # in gsi1 under ``index`` sorted by ``<next_attempt_at>#<key>`` -------------------

    def _claim_due(
        self,
        kind: str,
        index: str,
        decode: Callable[[Item], T],
        now: dt.datetime,
        lease_until: dt.datetime,
        limit: int,
    ) -> list[T]:
        if limit <= 0:
            return []
        at, until = _text(now), _text(lease_until)
        due = self._query(
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :p AND gsi1sk < :b",
            ExpressionAttributeValues={":p": _s(index), ":b": _s(at + "$")},
        )
        taken: list[T] = []
        for item in sorted(due, key=lambda i: (_str(i["created_at"]), _str(i["key"]))):
            if len(taken) == limit:
                break
            key = _str(item["key"])
            try:  # the lease: only if no other sender took it since the index was read
                self._call(
                    "update_item",
                    Key=_key(f"{kind}#{key}", kind),
                    UpdateExpression="SET next_attempt_at = :until, gsi1sk = :sk",
                    ConditionExpression="next_attempt_at = :seen AND attribute_not_exists(sent_at)"
                    " AND attribute_not_exists(dead_at)",
                    ExpressionAttributeValues={
                        ":until": _s(until),
                        ":sk": _s(f"{until}#{key}"),
                        ":seen": item["next_attempt_at"],
                    },
                )
            except _ConditionFailed:
                continue
            taken.append(decode({**item, "next_attempt_at": _s(until)}))
        return taken

    def _mark_sent(self, kind: str, key: str, now: dt.datetime) -> None:
        try:
            self._call(
                "update_item",
                Key=_key(f"{kind}#{key}", kind),
                UpdateExpression="SET sent_at = if_not_exists(sent_at, :at) REMOVE gsi1pk",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":at": _s(_text(now))},
            )
        except _ConditionFailed:
            raise KeyError(key) from None

    def _mark_failed(self, kind: str, key: str, error: str, retry_at: dt.datetime) -> None:
        at = _text(retry_at)
        self._attempt(
            kind,
            key,
            "next_attempt_at = :at, gsi1sk = :sk",
            {":error": _s(error), ":at": _s(at), ":sk": _s(f"{at}#{key}")},
        )

    def _mark_dead(self, kind: str, key: str, error: str, now: dt.datetime) -> None:
        # out of the due index for good; the item (and its key) stays
        self._attempt(
            kind,
            key,
            "dead_at = :at REMOVE gsi1pk, gsi1sk",
            {":error": _s(error), ":at": _s(_text(now))},
        )

    def _attempt(self, kind: str, key: str, change: str, values: Item) -> None:
        try:
            self._call(
                "update_item",
                Key=_key(f"{kind}#{key}", kind),
                UpdateExpression="SET attempts = attempts + :one, last_error = :error, " + change,
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(sent_at)"
                " AND attribute_not_exists(dead_at)",
                ExpressionAttributeValues={":one": _n(1), **values},
            )
        except _ConditionFailed:
            # Sent stays sent, dead stays dead (with its first error): a late report is moot.
            if self._get(_key(f"{kind}#{key}", kind)) is None:
                raise KeyError(key) from None

    # -- numbered documents (invoices) -----------------------------------------------

    def issue_document(self, key: str, year: int, body: Mapping[str, Any]) -> IssuedDocument:
        def issue() -> IssuedDocument:
            found = self.find_document(key)
            if found is not None:
                return found
            counter = self._get(_key(f"DOCS#{year}", "COUNTER"))
            last = _int(counter["last"]) if counter else 0
            document = IssuedDocument(key, year, last + 1, body)
            counted: dict[str, Any] = {
                "TableName": self.table,
                "Key": _key(f"DOCS#{year}", "COUNTER"),
                "UpdateExpression": "SET #last = :next",
                "ExpressionAttributeNames": {"#last": "last"},
                "ExpressionAttributeValues": {":next": _n(last + 1)},
            }
            if counter is None:
                counted["ConditionExpression"] = "attribute_not_exists(pk)"
            else:
                counted["ConditionExpression"] = "#last = :last"
                counted["ExpressionAttributeValues"][":last"] = _n(last)
            writes = [
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": {
                            **_key(f"DOCKEY#{key}", "DOCKEY"),
                            "year": _n(year),
                            "sequence": _n(last + 1),
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {"Update": counted},
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": _document_item(document),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
            try:
                self._transact(writes)
            except _Cancelled as cancelled:
                raise _Retry from cancelled  # another issuer went first: read again
            return document

        return self._retrying(issue)

    def get_document(self, year: int, sequence: int) -> IssuedDocument | None:
        item = self._get(_key(f"DOCS#{year}", f"DOC#{sequence:09d}"))
        return None if item is None else _document(item)

    def find_document(self, key: str) -> IssuedDocument | None:
        pointer = self._get(_key(f"DOCKEY#{key}", "DOCKEY"))
        if pointer is None:
            return None
        found = self.get_document(_int(pointer["year"]), _int(pointer["sequence"]))
        if found is None:
            raise StoreError(f"DynamoDB store: document {key} has a number but no document")
        return found

    def list_documents(self, year: int) -> list[IssuedDocument]:
        items = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :doc)",
            ExpressionAttributeValues={":pk": _s(f"DOCS#{year}"), ":doc": _s("DOC#")},
            ConsistentRead=True,
        )
        return [_document(item) for item in items]

    # -- personal data ------------------------------------------------------------

    def personal_data(self, email: str) -> PersonalData:
        person = _person(email)
        customer, sessions, keys = self._filed_under(person)
        orders = [o for session in sessions if (o := self.get_order(session)) is not None]
        orders.sort(key=lambda o: (o.created_at, o.session_id), reverse=True)
        returns = [r for o in orders for r in self.list_returns(o.session_id, limit=1000)]
        returns.sort(key=lambda r: (r.created_at, r.rid), reverse=True)
        mails = [_mail(item) for key in keys if (item := self._get(_key(f"MAIL#{key}", "MAIL")))]
        return PersonalData(customer, tuple(orders), tuple(returns), tuple(mails))

    def forget_customer(self, email: str, pseudonym: str, now: dt.datetime) -> ForgetReport:
        person = _person(email)
        customer, sessions, keys = self._filed_under(person)
        orders = returns = mails = 0
        for session in sessions:
            order = self.get_order(session)
            if order is None or forgotten_order(order, pseudonym) == order:
                continue
            self.update_order(session, lambda o: forgotten_order(o, pseudonym))
            orders += 1
            for ret in self.list_returns(session, limit=1000):
                returns += self._retrying(functools.partial(self._forget_return, ret.rid))
        for key in keys:
            mails += self._retrying(functools.partial(self._forget_mail, key, pseudonym, now))
        # Last, so that a forget cut short is found, and finished, by the next one.
        for session in sessions:
            self._call("delete_item", Key=_key(f"CUSTOMER#{person}", f"ORDER#{session}"))
        for key in keys:
            self._call("delete_item", Key=_key(f"CUSTOMER#{person}", f"MAIL#{key}"))
        if customer is not None:
            self._call("delete_item", Key=_key(f"CUSTOMER#{person}", "CUSTOMER"))
        return ForgetReport(customer is not None, orders, returns, mails)

    def list_people_for_purge(self, cutoff: dt.datetime, limit: int = 1000) -> list[PurgeCandidate]:
        if limit <= 0:
            return []
        items = self._query(
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :p AND gsi1sk < :cutoff",
            ExpressionAttributeValues={":p": _s("CUSTOMERS"), ":cutoff": _s(_text(cutoff))},
            ScanIndexForward=True,
        )
        found = []
        for item in items:
            email = _str(item["email"])
            if is_pseudonym(email):
                continue
            found.append(PurgeCandidate(email, _time(_str(item["updated_at"]))))
            if len(found) == limit:
                break
        return found

    def _filed_under(self, person: str) -> tuple[Customer | None, list[str], list[str]]:
        """The person's customer record, and the sessions and mail keys filed under them."""
        customer = None
        sessions, keys = [], []
        for item in self._query(
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": _s(f"CUSTOMER#{person}")},
            ConsistentRead=True,
        ):
            sk = _str(item["sk"])
            if sk == "CUSTOMER":
                customer = _customer(item)
            elif sk.startswith("ORDER#"):
                sessions.append(sk.removeprefix("ORDER#"))
            elif sk.startswith("MAIL#"):
                keys.append(sk.removeprefix("MAIL#"))
        return customer, sessions, keys

    def _forget_return(self, rid: str) -> int:
        item = self._get(_key(f"RETURN#{rid}", "RETURN"))
        if item is None:
            return 0
        ret = _return(item)
        forgotten = forgotten_return(ret)
        if forgotten == ret:
            return 0
        try:
            self._call(
                "update_item",
                Key=_key(f"RETURN#{rid}", "RETURN"),
                UpdateExpression="SET #data = :data",
                ConditionExpression="#data = :seen",
                ExpressionAttributeNames={"#data": "data"},
                ExpressionAttributeValues={
                    ":data": _s(_json(encode_return(forgotten))),
                    ":seen": item["data"],
                },
            )
        except _ConditionFailed as changed:
            raise _Retry from changed
        return 1

    def _forget_mail(self, key: str, pseudonym: str, now: dt.datetime) -> int:
        item = self._get(_key(f"MAIL#{key}", "MAIL"))
        if item is None:
            return 0
        mail = _mail(item)
        if mail.to == pseudonym and not mail.message and mail.last_error is None:
            return 0
        # The key stays taken (never queued again), the message goes; unsent, given up.
        sets = ["#to = :p", "about = :p", "message = :empty"]
        removed = ["last_error"]
        values: Item = {":p": _s(pseudonym), ":empty": {"B": b""}, ":seen": item["message"]}
        if mail.sent_at is None:
            sets.append("dead_at = if_not_exists(dead_at, :now)")
            removed += ["gsi1pk", "gsi1sk"]  # out of the due index for good
            values[":now"] = _s(_text(now))
        try:
            self._call(
                "update_item",
                Key=_key(f"MAIL#{key}", "MAIL"),
                UpdateExpression=f"SET {', '.join(sets)} REMOVE {', '.join(removed)}",
                ConditionExpression="message = :seen",
                ExpressionAttributeNames={"#to": "to"},
                ExpressionAttributeValues=values,
            )
        except _ConditionFailed as changed:
            raise _Retry from changed
        return 1

    # -- the table ------------------------------------------------------------

    def close(self) -> None:
        """Close the client's connections."""
        self._client.close()

    def __enter__(self) -> DynamoDBStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _create_table(self) -> None:
        """Create the table as template.yaml declares it, when it is missing."""
        from botocore.exceptions import ClientError

        try:
            self._client.create_table(
                TableName=self.table,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[
                    {"AttributeName": name, "AttributeType": "S"}
                    for name in ("pk", "sk", "gsi1pk", "gsi1sk")
                ],
                KeySchema=[
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                GlobalSecondaryIndexes=[
                    {
                        "IndexName": "gsi1",
                        "KeySchema": [
                            {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                            {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                ],
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceInUseException":
                raise StoreError(f"DynamoDB table {self.table}: {error}") from error
            return  # it exists (or another process is creating it)
        try:
            self._client.get_waiter("table_exists").wait(
                TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
            )
            self._client.update_time_to_live(
                TableName=self.table,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"},
            )
        except Exception as error:
            raise StoreError(f"DynamoDB table {self.table}: {error}") from error

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        """One request on the table; its errors become ours."""
        return self._request(operation, TableName=self.table, **params)

    def _request(self, operation: str, **params: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response: dict[str, Any] = getattr(self._client, operation)(**params)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise _ConditionFailed from error
            raise StoreError(f"DynamoDB table {self.table}: {error}") from error
        except BotoCoreError as error:
            raise StoreError(f"DynamoDB table {self.table}: {error}") from error
        return response

    def _transact(self, writes: list[dict[str, Any]]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                reasons = error.response.get("CancellationReasons", [])
                raise _Cancelled([str(r.get("Code", "None")) for r in reasons]) from error
            if error.response["Error"]["Code"] == "TransactionConflictException":
                raise _Cancelled([]) from error
            raise StoreError(f"DynamoDB table {self.table}: {error}") from error
        except BotoCoreError as error:
            raise StoreError(f"DynamoDB table {self.table}: {error}") from error

    def _put_new(self, item: Item, *pointers: Item) -> bool:
        """Writes ``item`` unless its key is taken (False then), with ``pointers`` to it."""
        put_item: dict[str, Any] = {
            "TableName": self.table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        pointed = [{"Put": {"TableName": self.table, "Item": p}} for p in pointers]
        try:
            self._transact([{"Put": put_item}, *pointed])
        except _Cancelled as cancelled:
            if cancelled.failed(0):
                return False
            raise StoreError(f"DynamoDB table {self.table}: {cancelled}") from cancelled
        return True

    def _get(self, key: Item) -> Item | None:
        item: Item | None = self._call("get_item", Key=key, ConsistentRead=True).get("Item")
        return item

    def _query(self, **params: Any) -> Iterator[Item]:
        """Every item a Query finds, page after page, as they are consumed."""
        while True:
            page = self._call("query", **params)
            yield from page.get("Items", [])
            last = page.get("LastEvaluatedKey")
            if last is None:
                return
            params = {**params, "ExclusiveStartKey": last}

    def _retrying(self, attempt: Callable[[], T]) -> T:
        """Run an optimistic read-then-conditional-write until no other writer intervenes."""
        for tries in range(MAX_ATTEMPTS):
            try:
                return attempt()
            except _Retry:
                # Jitter, so racing writers spread out; not a secret.
                time.sleep(random.uniform(0, 0.002 * (tries + 1)))  # noqa: S311
        raise StoreError(f"DynamoDB table {self.table}: too much contention, gave up")


def _new_client() -> Any:
    """A DynamoDB client configured from the environment (region, credentials, endpoint)."""
    import boto3
    from botocore.config import Config

    # A session per client: boto3's default session is not safe to share across threads.
    config = Config(
        retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=10
    )
    return boto3.session.Session().client("dynamodb", config=config)


# -- items <-> values ---------------------------------------------------------------


def _customer(item: Item) -> Customer:
    def moment(name: str) -> dt.datetime | None:
        return _time(_str(item[name])) if name in item else None

    return Customer(
        _str(item["email"]),
        _str(item["name"]),
        bool(item["consent"]["BOOL"]),
        moment("consent_at"),
        _time(_str(item["created_at"])),
        _time(_str(item["updated_at"])),
        _str(item["consent_source"]) if "consent_source" in item else None,
        moment("consent_withdrawn_at"),
    )


def _key(pk: str, sk: str) -> Item:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _unchanged(hold: _Hold | None) -> dict[str, Any]:
    """The condition that a hold item is as read (or still absent)."""
    if hold is None:
        return {"ConditionExpression": "attribute_not_exists(pk)"}
    return {
        "ConditionExpression": "version = :version",
        "ExpressionAttributeValues": {":version": _s(hold.version)},
    }


def _s(value: str) -> AttributeValue:
    return {"S": value}


def _n(value: int) -> AttributeValue:
    return {"N": str(value)}


def _str(value: AttributeValue) -> str:
    return str(value["S"])


def _int(value: AttributeValue) -> int:
    return int(value["N"])


def _first(items: Iterator[Item], count: int) -> list[Item]:
    taken: list[Item] = []
    for item in items:
        taken.append(item)
        if len(taken) == count:
            break  # before the next page is asked for
    return taken


def _text(moment: dt.datetime) -> str:
    """Fixed-width UTC ISO text, so comparing texts compares moments."""
    if moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: the store takes aware UTC datetimes")
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _email_key(email: str) -> str:
    return email.strip().lower()


def _stock_of(sku: str, item: Item) -> _Stock:
    holds = {
        key: (_int(entry["M"]["q"]), _str(entry["M"]["exp"]))
        for key, entry in item["holds"]["M"].items()
    }
    return _Stock(
        sku,
        _int(item["spare"]),
        _str(item["count_id"]),
        holds,
        _int(item["baseline"]),
        _int(item["sold"]),
        _str(item["counted_at"]) if "counted_at" in item else None,
    )


def _count_state(item: Item) -> tuple[StockCount, dt.datetime | None]:
    """The count last synced from files (items from before: the baseline, undated)
    and when the count in force was made."""
    synced = _int(item["synced"]) if "synced" in item else _int(item["baseline"])
    synced_at = _time(_str(item["synced_at"])) if "synced_at" in item else None
    counted_at = _time(_str(item["counted_at"])) if "counted_at" in item else None
    return StockCount(synced, synced_at), counted_at


def _stock_count(level: int | StockCount) -> StockCount:
    count = level if isinstance(level, StockCount) else StockCount(level)
    if count.count < 0:
        raise ValueError(f"negative stock count {count!r}")
    if count.counted_at is not None:
        _text(count.counted_at)  # refuses a naive datetime
    return count


def _json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _order(item: Item) -> Order:
    try:
        return decode_order(json.loads(_str(item["data"])))
    except (OrderFormatError, ValueError, KeyError) as error:
        raise StoreError(f"DynamoDB store: order {_str(item['pk'])}: {error}") from error


def _checkout(item: Item) -> Checkout:
    try:
        stored = json.loads(_str(item["data"]))
        return Checkout(
            session_id=_str(item["pk"]).removeprefix("CHECKOUT#"),
            hold_key=_str(item["hold_key"]),
            created_at=_time(_str(item["created_at"])),
            expires_at=_time(_str(item["expires_at"])),
            priced=decode_priced(stored["priced"]),
            catalog_hash=str(stored["catalog_hash"]),
            payment_intent=_str(item["payment_intent"]) if "payment_intent" in item else None,
        )
    except (OrderFormatError, ValueError, KeyError, TypeError) as error:
        raise StoreError(f"DynamoDB store: checkout {_str(item['pk'])}: {error}") from error


def _return(item: Item) -> ReturnRequest:
    try:
        return decode_return(json.loads(_str(item["data"])))
    except (ValueError, KeyError) as error:
        raise StoreError(f"DynamoDB store: return {_str(item['pk'])}: {error}") from error


def _person(email: str) -> str:
    """``email`` as people are filed; refuses what is no address."""
    person = person_key(email)
    if "@" not in person:
        raise ValueError(f"{email!r} is not an e-mail address")
    return person


def _queued_item(
    kind: str, index: str, queued: OutgoingMail | OutgoingDelivery, now: dt.datetime, fields: Item
) -> Item:
    """A queue's item (mail outbox, deliveries): ``fields`` are what only it carries."""
    due = _text(queued.next_attempt_at or now)
    item: Item = {
        **_key(f"{kind}#{queued.key}", kind),
        "key": _s(queued.key),
        **fields,
        "attempts": _n(queued.attempts),
        "next_attempt_at": _s(due),
        "created_at": _s(_text(now)),
    }
    if queued.last_error is not None:
        item["last_error"] = _s(queued.last_error)
    if queued.sent_at is not None:
        item["sent_at"] = _s(_text(queued.sent_at))
    else:  # only what is unsent is in the due index
        item |= {"gsi1pk": _s(index), "gsi1sk": _s(f"{due}#{queued.key}")}
    return item


def _delivery(item: Item) -> OutgoingDelivery:
    return OutgoingDelivery(
        key=_str(item["key"]),
        channel=_str(item["channel"]),
        target=_str(item["target"]),
        body=bytes(item["body"]["B"]),
        attempts=_int(item["attempts"]),
        next_attempt_at=_time(_str(item["next_attempt_at"])),
        sent_at=_time(_str(item["sent_at"])) if "sent_at" in item else None,
        last_error=_str(item["last_error"]) if "last_error" in item else None,
    )


def _mail(item: Item) -> OutgoingMail:
    return OutgoingMail(
        key=_str(item["key"]),
        to=_str(item["to"]),
        message=bytes(item["message"]["B"]),
        attempts=_int(item["attempts"]),
        next_attempt_at=_time(_str(item["next_attempt_at"])),
        sent_at=_time(_str(item["sent_at"])) if "sent_at" in item else None,
        last_error=_str(item["last_error"]) if "last_error" in item else None,
        about=_str(item["about"]) if "about" in item else "",
    )


def _document_item(document: IssuedDocument) -> Item:
    return {
        **_key(f"DOCS#{document.year}", f"DOC#{document.sequence:09d}"),
        "key": _s(document.key),
        "year": _n(document.year),
        "sequence": _n(document.sequence),
        "body": _s(_json(document.body)),
    }


def _document(item: Item) -> IssuedDocument:
    return IssuedDocument(
        key=_str(item["key"]),
        year=_int(item["year"]),
        sequence=_int(item["sequence"]),
        body=json.loads(_str(item["body"])),
    )


def _conforms(store: DynamoDBStore) -> Store:
    """mypy checks here that the class keeps to the Store protocol."""
    return store
