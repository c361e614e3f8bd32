/**
 * The Lua scripts of the Redis store. Each runs atomically in Redis, so a
 * write's fence check, its check of the key's revision and the write itself
 * are one step no other command falls between (docs/decisions/0025).
 *
 * The store's own keys (`KEYS`): the index (a sorted set of order-encoded
 * members at score 0), `meta` (member → `<rev>` or `<rev>|<h60>|<digest>`),
 * `tombs` (member → `<deleted at ms>|<version>`), `fences` (migration →
 * epoch) and `clock` (the counter revisions are drawn from).
 */

/**
 * Helpers the scripts share: `digest`, of an entity's mapped fields as Redis
 * holds them (`vals`: one string or `false` per field, in the mapping's
 * order), which tells a kept row hash from one made stale by a write that did
 * not go through the store; and `revOf`, a key's revision from its meta.
 */
const DIGEST = `
local function digest(vals)
  local parts = {}
  for i = 1, #vals do
    local v = vals[i]
    if v then parts[i] = #v .. ':' .. v else parts[i] = '-' end
  end
  return string.sub(redis.sha1hex(table.concat(parts, ',')), 1, 16)
end
local function revOf(meta)
  if not meta then return '' end
  local bar = string.find(meta, '|', 1, true)
  if bar then return string.sub(meta, 1, bar - 1) end
  return meta
end
`;

/**
 * Applies writes of many keys. `KEYS`: index, meta, tombs, fences, clock,
 * then one entity key per write. `ARGV`: fence migration (`''`: none),
 * fence epoch, the lease's fence name (`''`: none) and epoch, the number of
 * mapped fields F, their hash field names, then
 * per write: member, the revision it expects (`*`: any), its kind — `p` put
 * (clears the tombstone), `k` put keeping the tombstone, `d` delete leaving
 * the tombstone given, `x` delete leaving tombstones as they are — and its
 * extra (a put's row hash; a `d`'s tombstone); a put then carries a string of
 * F flags (`1`: the field has a value) and the values that are present.
 *
 * Refuses the whole call, writing nothing, with `MIDAIR_FENCED <epoch> <1|3>` when
 * a fence (the phase's, 1, or the lease's, 3) is above the call's epoch, and with `MIDAIR_WRONGTYPE <n>` when
 * the n-th write's key holds something other than a hash. Returns one flag per write: 1
 * applied, 0 left alone because the key's revision is not the one expected.
 */
export const APPLY = `${DIGEST}
for f = 1, 3, 2 do
  if ARGV[f] ~= '' then
    local at = tonumber(redis.call('HGET', KEYS[4], ARGV[f]) or '0')
    if at > tonumber(ARGV[f + 1]) then return redis.error_reply('MIDAIR_FENCED ' .. at .. ' ' .. f) end
  end
end
for k = 6, #KEYS do
  local t = redis.call('TYPE', KEYS[k])['ok']
  if t ~= 'hash' and t ~= 'none' then return redis.error_reply('MIDAIR_WRONGTYPE ' .. (k - 5)) end
end
local nf = tonumber(ARGV[5])
local names = {}
for i = 1, nf do names[i] = ARGV[5 + i] end
local rev = nil
local out = {}
local a = 6 + nf
local w = 0
while a <= #ARGV do
  w = w + 1
  local ekey = KEYS[5 + w]
  local member, expect, kind, extra = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  a = a + 4
  local flags, vals = nil, nil
  if kind == 'p' or kind == 'k' then
    flags = ARGV[a]
    a = a + 1
    vals = {}
    for i = 1, nf do
      if string.byte(flags, i) == 49 then vals[i] = ARGV[a]; a = a + 1 else vals[i] = false end
    end
  end
  local current = redis.call('HGET', KEYS[2], member)
  if expect ~= '*' and revOf(current) ~= expect then
    out[w] = 0
  else
    if not rev then rev = tostring(redis.call('INCR', KEYS[5])) end
    if vals then
      local set, unset = {}, {}
      for i = 1, nf do
        if vals[i] then set[#set + 1] = names[i]; set[#set + 1] = vals[i] else unset[#unset + 1] = names[i] end
      end
      if #unset > 0 then redis.call('HDEL', ekey, unpack(unset)) end
      if #set > 0 then redis.call('HSET', ekey, unpack(set)) end
      redis.call('ZADD', KEYS[1], 0, member)
      redis.call('HSET', KEYS[2], member, rev .. '|' .. extra .. '|' .. digest(vals))
      if kind == 'p' then redis.call('HDEL', KEYS[3], member) end
    else
      redis.call('DEL', ekey)
      redis.call('ZREM', KEYS[1], member)
      redis.call('HSET', KEYS[2], member, rev)
      if kind == 'd' then redis.call('HSET', KEYS[3], member, extra) end
    end
    out[w] = 1
  end
end
return out
`;

/**
 * Reads keys' state for a write that follows. `KEYS`: meta, tombs, then one
 * entity key per key. `ARGV`: the number of fields F to read, their hash
 * field names, then one member per key. Returns per key: its revision (`''`
 * when none), its tombstone (or nil), 1 or 0 for whether the entity exists,
 * then the F values (nil where absent).
 */
export const STATE = `${DIGEST}
local nf = tonumber(ARGV[1])
local names = {}
for i = 1, nf do names[i] = ARGV[1 + i] end
local out = {}
for k = 3, #KEYS do
  local member = ARGV[nf + k - 1]
  out[#out + 1] = revOf(redis.call('HGET', KEYS[1], member))
  out[#out + 1] = redis.call('HGET', KEYS[2], member)
  local exists = redis.call('EXISTS', KEYS[k])
  out[#out + 1] = exists
  if nf > 0 then
    local vals = redis.call('HMGET', KEYS[k], unpack(names))
    for i = 1, nf do out[#out + 1] = vals[i] end
  end
end
return out
`;

/**
 * The row hashes of some keys, from the cache where it still describes the
 * entity. `KEYS`: meta, then one entity key per key. `ARGV`: F, the mapped
 * hash field names, then one member per key. Returns the number of keys
 * hashed from the cache, their 60-bit hashes summed in three 20-bit parts
 * (exact in Lua's doubles for up to 2^33 keys a call), then the 1-based
 * positions of the keys whose cache is missing or stale (the caller hashes
 * those rows itself); an entity that no longer exists is neither.
 */
export const HASH = `${DIGEST}
local nf = tonumber(ARGV[1])
local names = {}
for i = 1, nf do names[i] = ARGV[1 + i] end
local count, s1, s2, s3 = 0, 0, 0, 0
local stale = {}
for k = 2, #KEYS do
  local member = ARGV[nf + k]
  if redis.call('EXISTS', KEYS[k]) == 1 then
    local meta = redis.call('HGET', KEYS[1], member)
    local _, _, h, d = string.find(meta or '', '^[^|]*|([0-9a-f]+)|([0-9a-f]+)$')
    local vals = redis.call('HMGET', KEYS[k], unpack(names))
    if h and #h == 15 and d == digest(vals) then
      count = count + 1
      s1 = s1 + tonumber(string.sub(h, 1, 5), 16)
      s2 = s2 + tonumber(string.sub(h, 6, 10), 16)
      s3 = s3 + tonumber(string.sub(h, 11, 15), 16)
    else
      stale[#stale + 1] = k - 1
    end
  end
end
local out = { count, s1, s2, s3 }
for i = 1, #stale do out[#out + 1] = stale[i] end
return out
`;

/** Raises a fence (never lowers it). `KEYS`: fences. `ARGV`: migration, epoch. */
export const RAISE_FENCE = `
local at = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > at then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
`;

/**
 * Adds members to the index where their entity exists (`setup()` indexing
 * what the prefix holds): the check and the add are one step, so a delete
 * through the store between the walk and the add cannot leave a member
 * behind. `KEYS`: index, then one entity key per member; `ARGV`: the members.
 */
export const INDEX_EXISTING = `
local added = 0
for k = 2, #KEYS do
  if redis.call('EXISTS', KEYS[k]) == 1 then added = added + redis.call('ZADD', KEYS[1], 'NX', 0, ARGV[k - 1]) end
end
return added
`;

/**
 * How many of the given entities exist and are not in the index, checked in
 * one step (a delete through the store between a SCAN and the check would
 * otherwise look like an unindexed entity). `KEYS`: index, then one entity
 * key per member; `ARGV`: the members.
 */
export const COUNT_UNINDEXED = `
local missing = 0
for k = 2, #KEYS do
  if redis.call('EXISTS', KEYS[k]) == 1 and not redis.call('ZSCORE', KEYS[1], ARGV[k - 1]) then missing = missing + 1 end
end
return missing
`;
