"""``NotificationDispatcher``: routes notifications by each account's ``notify`` preference.

* ``never``: dropped (logged at debug), whatever the kind.
* ``immediate``: sent to every notifier now.
* ``daily`` / ``weekly``: queued in the digest store, sent as one message by ``flush_digest``
  (``flush_digests("daily"|"weekly")`` for every account of that preference), except urgent
  ones (kill switch, disconnect, error, or severity critical) and the daily report itself,
  which go out at once.
* No account (desk-wide news) or an account without a preference: ``default_preference``.

Notifiers run in parallel and the caller waits at most ``budget_seconds``: a slow channel
never holds up trading. Nothing here raises; failures are logged, returned, and (with an
``undelivered`` log) recorded per channel once that channel's retries are spent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait

from adapters.notify.digest import DigestEntry, DigestStore, InMemoryDigestStore
from core.clock import Clock
from core.errors import InvalidValue
from core.ports.notify import DeliveryResult, Notification, Notifier, NotifyPreference, Severity

__all__ = ["NotificationDispatcher", "Undelivered"]

Undelivered = Callable[[Notification, DeliveryResult], None]
"""Records a notification one channel could not deliver (the channel's failed result)."""

log = logging.getLogger(__name__)

_CHANNEL = "dispatcher"
_SEVERITY_RANK: dict[Severity, int] = {"info": 0, "warning": 1, "critical": 2}
_DIGEST_LINES = 200
_HELD: frozenset[NotifyPreference] = frozenset({"daily", "weekly"})


class NotificationDispatcher:
    def __init__(
        self,
        notifiers: Sequence[Notifier],
        preferences: Mapping[str, NotifyPreference],
        clock: Clock,
        store: DigestStore | None = None,
        *,
        default_preference: NotifyPreference = "immediate",
        budget_seconds: float = 10.0,
        undelivered: Undelivered | None = None,
    ) -> None:
        if budget_seconds <= 0:
            raise InvalidValue(f"budget_seconds must be positive, got {budget_seconds}")
        self._notifiers = tuple(notifiers)
        self._preferences = dict(preferences)
        self._clock = clock
        self._store: DigestStore = store if store is not None else InMemoryDigestStore()
        self._default = default_preference
        self._budget = budget_seconds
        self._undelivered = undelivered

    def preference(self, account_id: str | None) -> NotifyPreference:
        if account_id is None:
            return self._default
        return self._preferences.get(account_id, self._default)

    def notify(self, notification: Notification) -> DeliveryResult:
        """Send, queue or drop ``notification`` by its account's preference. Never raises."""
        try:
            return self._route(notification)
        except Exception as exc:  # the last line of defence: a notification never breaks trading
            log.error("notification %s failed: %s", notification.kind, type(exc).__name__)
            return DeliveryResult(ok=False, channel=_CHANNEL, status="failed", error=type(exc).__name__)

    def flush_digests(self, period: NotifyPreference) -> list[DeliveryResult]:
        """Flush the digest of every account on ``period`` (``daily`` or ``weekly``), and the
        desk-wide news when the default preference is ``period``. Never raises."""
        results = [
            self.flush_digest(account_id, period)
            for account_id, preference in sorted(self._preferences.items())
            if preference == period
        ]
        if self._default == period:
            results.append(self._flush(self._desk_entries, None, period))
        return results

    def flush_digest(
        self, account_id: str | None = None, period: NotifyPreference = "daily"
    ) -> DeliveryResult:
        """Send the queued digest (one account's, or every account's) as one message.

        Entries are removed once any notifier delivered it; if none did they stay for the next
        flush. Never raises.
        """
        return self._flush(lambda: self._store.pending(account_id), account_id, period)

    def _desk_entries(self) -> list[DigestEntry]:
        return [e for e in self._store.pending(None) if e.notification.account_id is None]

    def _flush(
        self, pending: Callable[[], list[DigestEntry]], account_id: str | None, period: NotifyPreference
    ) -> DeliveryResult:
        try:
            entries = pending()
            if not entries:
                return DeliveryResult(ok=True, channel=_CHANNEL, status="dropped")
            result = self._send(self._digest(entries, account_id, period))
            if any(d.ok for d in result.deliveries):
                self._store.remove(e.id for e in entries)
            return result
        except Exception as exc:
            log.error("digest flush for %s failed: %s", account_id or "all accounts", type(exc).__name__)
            return DeliveryResult(ok=False, channel=_CHANNEL, status="failed", error=type(exc).__name__)

    def _route(self, n: Notification) -> DeliveryResult:
        preference = self.preference(n.account_id)
        if preference == "never":
            log.debug("notification %s for %s dropped: preference is never", n.kind, n.account_id)
            return DeliveryResult(ok=True, channel=_CHANNEL, status="dropped")
        if preference in _HELD and not n.urgent and n.kind != "daily_report":
            self._store.add(n)
            return DeliveryResult(ok=True, channel=_CHANNEL, status="queued")
        return self._send(n)

    def _send(self, n: Notification) -> DeliveryResult:
        if not self._notifiers:
            log.debug("notification %s dropped: no notifier configured", n.kind)
            return DeliveryResult(ok=True, channel=_CHANNEL, status="dropped")
        pool = ThreadPoolExecutor(max_workers=len(self._notifiers), thread_name_prefix="notify")
        try:
            futures = [(notifier, pool.submit(notifier.send, n)) for notifier in self._notifiers]
            wait([f for _, f in futures], timeout=self._budget)
            deliveries = tuple(self._outcome(notifier, future) for notifier, future in futures)
        finally:
            # Do not wait for a straggler: it ends within its own time-outs.
            pool.shutdown(wait=False, cancel_futures=True)
        failed = [d for d in deliveries if not d.ok]
        for d in failed:
            self._record_undelivered(n, d)
            level = logging.ERROR if n.urgent else logging.WARNING
            log.log(
                level,
                "notification %s for %s not delivered by %s: %s",
                n.kind,
                n.account_id or "desk",
                d.channel,
                d.error,
            )
        error = "; ".join(f"{d.channel}: {d.error}" for d in failed) or None
        return DeliveryResult(
            ok=not failed,
            channel=_CHANNEL,
            status="failed" if failed else "sent",
            attempts=sum(d.attempts for d in deliveries),
            error=error,
            deliveries=deliveries,
        )

    def _record_undelivered(self, n: Notification, failed: DeliveryResult) -> None:
        if self._undelivered is None:
            return
        try:
            self._undelivered(n, failed)
        except Exception as exc:  # recording is best effort, like the delivery itself
            log.error("could not record undelivered %s: %s", n.kind, type(exc).__name__)

    def _outcome(self, notifier: Notifier, future: Future[DeliveryResult]) -> DeliveryResult:
        channel = _name(notifier)
        if not future.done():
            return DeliveryResult(
                ok=False, channel=channel, status="failed", error=f"not done within {self._budget:g} s budget"
            )
        exc = future.exception()
        if exc is not None:
            # A foreign notifier's message may hold a secret we cannot know: keep the type only.
            return DeliveryResult(ok=False, channel=channel, status="failed", error=type(exc).__name__)
        return future.result()

    def _digest(
        self, entries: list[DigestEntry], account_id: str | None, period: NotifyPreference = "daily"
    ) -> Notification:
        notes = [e.notification for e in entries]
        accounts = sorted({n.account_id or "desk" for n in notes})
        lines = []
        for n in notes[:_DIGEST_LINES]:
            who = f"{n.account_id} " if account_id is None and n.account_id else ""
            lines.append(
                f"• {n.ts:%Y-%m-%d %H:%M} UTC {who}[{n.kind}] {n.title}"
                + (f": {_first_line(n.body)}" if n.body else "")
            )
        if len(notes) > _DIGEST_LINES:
            lines.append(f"… and {len(notes) - _DIGEST_LINES} more")
        severity = max((n.severity for n in notes), key=_SEVERITY_RANK.__getitem__)
        return Notification(
            kind="digest",
            title=f"{period.capitalize()} digest: {len(notes)} notification{'s' if len(notes) != 1 else ''}",
            body="\n".join(lines),
            ts=self._clock.now(),
            account_id=account_id,
            severity=severity,
            fields={"accounts": ", ".join(accounts), "count": str(len(notes))},
        )


def _name(notifier: Notifier) -> str:
    try:
        return str(notifier.name)
    except Exception:
        return type(notifier).__name__


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 200 else line[:199] + "…"
