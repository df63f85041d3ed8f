"""The Lua scripts that change cached home timelines, each atomic per timeline.

A home timeline is two keys: `home`, a sorted set of tweet ids (all scored 0, ordered by the id written as 19
zero-padded digits, with a sentinel member marking a timeline that exists although empty), and `groups`, a
hash that keeps retweets apart from what is shown:

    r<R> → <O>           the retweet R of the original O was delivered to this timeline
    o<O> → <R1><R2>...   the retweets of O delivered, in ascending order, 19 digits each, no separator

A tweet and its retweets form a group, and `home` holds exactly one member per group: the original when it
was delivered, otherwise the oldest retweet delivered. That is what makes a retweet appear once (two followees
retweeting the same tweet, or a retweet of a tweet already shown) and what makes the content a function of the
set of delivered entries, whatever order they came in: pushes, a rebuild and a follow merge agree. When the
shown member goes (deleted, its author unfollowed, trimmed as the oldest), the next one of its group is shown.

Ids exceed what a Lua number (a double) holds exactly, so ids stay strings here: 19-digit strings compare
like the numbers they spell.
"""

from __future__ import annotations

__all__ = ["DEMOTE", "FAMOUS_ADD", "MERGE", "PUSH", "REMOVE", "REMOVE_IDS", "SENTINEL"]

SENTINEL = "0" * 19

_PRELUDE = """
local W = 19
local SENTINEL = string.rep('0', W)

local function list_insert(list, id)
  for i = 0, #list / W - 1 do
    if id < string.sub(list, i * W + 1, i * W + W) then
      return string.sub(list, 1, i * W) .. id .. string.sub(list, i * W + 1)
    end
  end
  return list .. id
end

local function list_remove(list, id)
  for i = 0, #list / W - 1 do
    if string.sub(list, i * W + 1, i * W + W) == id then
      return string.sub(list, 1, i * W) .. string.sub(list, i * W + W + 1)
    end
  end
  return list
end

-- Deliver one entry (orig == '' for an original). Returns 1 if it was new to this timeline.
local function add(T, G, id, orig)
  if orig == '' then
    if redis.call('ZADD', T, 'NX', 0, id) == 0 then return 0 end
    local list = redis.call('HGET', G, 'o' .. id)
    if list then
      for i = 0, #list / W - 1 do redis.call('ZREM', T, string.sub(list, i * W + 1, i * W + W)) end
    end
    return 1
  end
  if redis.call('HEXISTS', G, 'r' .. id) == 1 then return 0 end
  local key = 'o' .. orig
  local list = redis.call('HGET', G, key) or ''
  local updated = list_insert(list, id)
  redis.call('HSET', G, key, updated, 'r' .. id, orig)
  if redis.call('PTTL', G) == -1 then
    -- created just now: it expires with the timeline
    local ttl = redis.call('PTTL', T)
    if ttl > 0 then redis.call('PEXPIRE', G, ttl) end
  end
  if redis.call('ZSCORE', T, orig) then return 1 end
  local shown, oldest = string.sub(list, 1, W), string.sub(updated, 1, W)
  if shown ~= oldest then
    if shown ~= '' then redis.call('ZREM', T, shown) end
    redis.call('ZADD', T, 0, oldest)
  end
  return 1
end

-- Forget one entry; the next of its group, if any, is shown in its place.
local function remove(T, G, id)
  local orig = redis.call('HGET', G, 'r' .. id)
  if orig then
    local key = 'o' .. orig
    local list = list_remove(redis.call('HGET', G, key) or '', id)
    redis.call('HDEL', G, 'r' .. id)
    if list == '' then redis.call('HDEL', G, key) else redis.call('HSET', G, key, list) end
    if redis.call('ZREM', T, id) == 1 and list ~= '' and not redis.call('ZSCORE', T, orig) then
      redis.call('ZADD', T, 0, string.sub(list, 1, W))
    end
    return
  end
  if redis.call('ZREM', T, id) == 1 then
    local list = redis.call('HGET', G, 'o' .. id)
    if list then redis.call('ZADD', T, 0, string.sub(list, 1, W)) end
  end
end

-- Keep the newest `cap` members (and the sentinel). Every round removes one member for good (a member shown
-- in its place comes from the group lists, whose entries are forgotten as they go), so it ends.
local function trim(T, G, cap)
  while redis.call('ZCARD', T) > cap + 1 do
    local oldest = redis.call('ZRANGEBYLEX', T, '(' .. SENTINEL, '+', 'LIMIT', 0, 1)[1]
    if not oldest then return end
    remove(T, G, oldest)
  end
end
"""

# Scripts over many timelines take the users as one argument, their ids joined by commas, and name the keys
# themselves: packing one short argument instead of two keys per follower is most of a big fan-out's cost in
# Python. (Undeclared keys are fine on one Redis; a Redis Cluster deployment would declare them per slot.)
_USERS = """
local function users(list)
  return string.gmatch(list, '[^,]+')
end
local function home(u) return 'timeline:{' .. u .. '}:home' end
local function groups(u) return 'timeline:{' .. u .. '}:groups' end
local function famous(u) return 'timeline:{' .. u .. '}:famous' end
"""

# ARGV: users, capacity, id, original ('' unless a retweet). Only timelines that exist are written (a missing
# one belongs to an inactive user, rebuilt on return). Returns how many exist.
PUSH = (
    _PRELUDE
    + _USERS
    + """
local cap, id, orig = tonumber(ARGV[2]), ARGV[3], ARGV[4]
local present = 0
for u in users(ARGV[1]) do
  local T, G = home(u), groups(u)
  if redis.call('EXISTS', T) == 1 then
    present = present + 1
    if add(T, G, id, orig) == 1 then trim(T, G, cap) end
  end
end
return present
"""
)

# ARGV: users, the id to remove.
REMOVE = (
    _PRELUDE
    + _USERS
    + """
for u in users(ARGV[1]) do
  if redis.call('EXISTS', home(u)) == 1 then remove(home(u), groups(u), ARGV[2]) end
end
return 0
"""
)

# KEYS: home, groups. ARGV: capacity, then id, original pairs. Only into a timeline that exists.
# Returns 1 if it existed.
MERGE = (
    _PRELUDE
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 2, #ARGV, 2 do add(KEYS[1], KEYS[2], ARGV[i], ARGV[i + 1]) end
trim(KEYS[1], KEYS[2], tonumber(ARGV[1]))
return 1
"""
)

# KEYS: home, groups. ARGV: the ids to remove.
REMOVE_IDS = (
    _PRELUDE
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 1, #ARGV do remove(KEYS[1], KEYS[2], ARGV[i]) end
return 1
"""
)

# ARGV: users, a famous user's id. Adds it to the famous followees of the users whose timeline is built (a
# missing set is a timeline not built yet; its rebuild reads the famous accounts itself).
FAMOUS_ADD = (
    _USERS
    + """
for u in users(ARGV[1]) do
  if redis.call('EXISTS', famous(u)) == 1 then redis.call('SADD', famous(u), ARGV[2]) end
end
return 0
"""
)

# ARGV: users, capacity, the formerly famous user, then id, original pairs of their recent tweets. Their
# tweets are pushed again from now on, so the recent ones move into each timeline that exists before the
# reader stops pulling them.
DEMOTE = (
    _PRELUDE
    + _USERS
    + """
local cap, who = tonumber(ARGV[2]), ARGV[3]
for u in users(ARGV[1]) do
  local T, G = home(u), groups(u)
  if redis.call('EXISTS', T) == 1 then
    for j = 4, #ARGV, 2 do add(T, G, ARGV[j], ARGV[j + 1]) end
    trim(T, G, cap)
  end
  redis.call('SREM', famous(u), who)
end
return 0
"""
)
