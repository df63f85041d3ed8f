"""Presence in Redis: per-user keys with the presence TTL, a schedule of coming changes, and pending events.

Keys (prefix `presence`; `{u}` is the user id, in braces so that one user's keys share a cluster slot):

    presence:{u}:on       "1" while an ONLINE heartbeat is less than a TTL old (SET … PX ttl)
    presence:{u}:idle     "1" while an IDLE heartbeat is less than a TTL old
    presence:{u}:seen     Unix ms of the latest heartbeat, kept for the retention
    presence:{u}:meta     hash: `on` and `idle`, the Unix ms at which the latest ONLINE and IDLE heartbeats
                          expire; `state`, the state last announced; `n`, how many changes were announced
    presence:due          sorted set: user id scored by the Unix ms at which their state next changes by itself
                          (the expiry of the key that makes them ONLINE or IDLE)
    presence:pending      hash: changes announced here but not yet confirmed published ("u:n" → Change.encode())

A read is the keys themselves: Redis expires them exactly, so a user whose keys expired reads OFFLINE at once
(with `last_seen_at` from `seen`) whether or not the change has been announced yet.

Why a schedule rather than Redis keyspace notifications: notifications are fire-and-forget pub/sub (a
service restarting, or a dropped connection, misses them for good), Redis sends them when it gets round to
expiring a key rather than at the expiry, and managed Redis often disables them. The schedule is data: a
sweep (any replica, any time after a restart) finds every user whose next change is due, and nothing is
missed or announced twice, because each step is one Lua script — atomic — that works out the states from the
expiry times in `meta`, compares them with the announced one and records each change in `pending`, at the
moment it happened, in the same step. The event is then published with a msg id made from the change, and
removed from `pending` after JetStream's ack; a crash in between leaves it pending, to be published again by
the next sweep (JetStream drops the duplicate).

Every clock reading is Redis's (TIME inside the scripts), so TTLs, schedule and timestamps agree even when
replicas' clocks do not. The sweep builds key names from the prefix, so it needs a single Redis (or one
cluster shard for all presence keys).
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from services.presence.model import Change, Presence, State

__all__ = ["PresenceStore"]

# Shared Lua: the clock, the state at a moment, and announcing a change.
_LIB = """
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function ms(n)
  return string.format('%d', n)
end

-- The state at `t` given the expiry times of the latest ONLINE and IDLE heartbeats, and when it next changes
-- by itself (nil once OFFLINE).
local function state_at(on_until, idle_until, t)
  if on_until > t then return 1, on_until end
  if idle_until > t then return 2, idle_until end
  return 3, nil
end

-- Record `state` as the user's announced state; when it differs from the last one, queue the change in the
-- pending hash and return it encoded (else '').
local function announce(meta, pending, user, state, at)
  local previous = tonumber(redis.call('HGET', meta, 'state') or '3')
  if previous == state then return '' end
  local n = redis.call('HINCRBY', meta, 'n', 1)
  redis.call('HSET', meta, 'state', state)
  local change = user .. ',' .. n .. ',' .. previous .. ',' .. state .. ',' .. ms(at)
  redis.call('HSET', pending, user .. ':' .. n, change)
  return change
end
"""

# KEYS: on, idle, seen, meta, due, pending. ARGV: user id, state (1|2), ttl ms, retention ms.
# Returns {state now, now ms, change or ''}.
_HEARTBEAT = (
    _LIB
    + """
local now = clock()
local until_ms = now + tonumber(ARGV[3])
if ARGV[2] == '1' then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[3])
  redis.call('HSET', KEYS[4], 'on', ms(until_ms))
else
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  redis.call('HSET', KEYS[4], 'idle', ms(until_ms))
end
redis.call('SET', KEYS[3], ms(now), 'PX', ARGV[4])
local on_until = tonumber(redis.call('HGET', KEYS[4], 'on') or '0')
local idle_until = tonumber(redis.call('HGET', KEYS[4], 'idle') or '0')
local state, next_change = state_at(on_until, idle_until, now)
redis.call('ZADD', KEYS[5], ms(next_change), ARGV[1])
local change = announce(KEYS[4], KEYS[6], ARGV[1], state, now)
redis.call('PEXPIRE', KEYS[4], ARGV[4])
return {state, now, change}
"""
)

# KEYS: due, pending. ARGV: key prefix, most users to settle. Returns the changes made.
# A user whose change is due is walked through every change up to now, each at its own time: a late sweep
# (a busy machine, a restart) still announces ONLINE → IDLE → OFFLINE, never ONLINE → OFFLINE at the wrong time.
_SWEEP = (
    _LIB
    + """
local now = clock()
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local changes = {}
for i = 1, #due, 2 do
  local user, t = due[i], tonumber(due[i + 1])
  local meta = ARGV[1] .. ':{' .. user .. '}:meta'
  local on_until = tonumber(redis.call('HGET', meta, 'on') or '0')
  local idle_until = tonumber(redis.call('HGET', meta, 'idle') or '0')
  while true do
    local state, next_change = state_at(on_until, idle_until, t)
    local change = announce(meta, KEYS[2], user, state, t)
    if change ~= '' then table.insert(changes, change) end
    if next_change == nil then
      redis.call('ZREM', KEYS[1], user)
      break
    elseif next_change > now then
      redis.call('ZADD', KEYS[1], ms(next_change), user)
      break
    end
    t = next_change
  end
end
return changes
"""
)


class PresenceStore:
    """The presence repository. `ttl` and `retention` are in seconds."""

    def __init__(self, redis: Redis, *, ttl: float, retention: float, prefix: str = "presence") -> None:
        self._redis = redis
        self._ttl_ms = max(1, round(ttl * 1000))
        self._retention_ms = max(1, round(retention * 1000))
        self._prefix = prefix
        self._due = f"{prefix}:due"
        self._pending = f"{prefix}:pending"
        self._heartbeat = redis.register_script(_HEARTBEAT)
        self._sweep = redis.register_script(_SWEEP)

    def _key(self, user_id: int, name: str) -> str:
        return f"{self._prefix}:{{{user_id}}}:{name}"

    async def heartbeat(self, user_id: int, state: State) -> tuple[Presence, Change | None]:
        """Record a heartbeat in `state` (ONLINE or IDLE); the user's presence after it, and the change it made."""
        if state not in (State.ONLINE, State.IDLE):
            raise ValueError(f"a heartbeat is ONLINE or IDLE, not {state!r}")
        keys = [self._key(user_id, k) for k in ("on", "idle", "seen", "meta")] + [self._due, self._pending]
        now_state, now_ms, change = await self._heartbeat(
            keys=keys, args=[user_id, int(state), self._ttl_ms, self._retention_ms]
        )
        presence = Presence(user_id, State(int(now_state)), int(now_ms))
        return presence, Change.decode(change) if change else None

    async def get_many(self, user_ids: Sequence[int]) -> dict[int, Presence]:
        """The presence of each distinct id, in one round trip (three MGETs in a pipeline)."""
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in ("on", "idle", "seen"):
                pipe.mget([self._key(i, name) for i in ids])
            on, idle, seen = await pipe.execute()
        found: dict[int, Presence] = {}
        for i, user_id in enumerate(ids):
            state = State.ONLINE if on[i] is not None else State.IDLE if idle[i] is not None else State.OFFLINE
            found[user_id] = Presence(user_id, state, int(seen[i]) if seen[i] is not None else None)
        return found

    async def sweep(self, *, limit: int = 500) -> list[Change]:
        """Settle up to `limit` users whose state changed by itself; the changes (also left pending)."""
        changes = await self._sweep(keys=[self._due, self._pending], args=[self._prefix, limit])
        return [Change.decode(c) for c in changes]

    async def pending(self) -> list[Change]:
        """The changes not yet confirmed published, oldest first."""
        raw = await self._redis.hvals(self._pending)
        return sorted((Change.decode(c) for c in raw), key=lambda c: (c.at_ms, c.user_id, c.n))

    async def forget(self, changes: Sequence[Change]) -> None:
        """Drop published changes from the pending ones."""
        if changes:
            await self._redis.hdel(self._pending, *(c.key for c in changes))

    async def next_due(self) -> int | None:
        """Unix ms of the earliest scheduled change, or None (for tests and metrics)."""
        first = await self._redis.zrange(self._due, 0, 0, withscores=True)
        return int(first[0][1]) if first else None
