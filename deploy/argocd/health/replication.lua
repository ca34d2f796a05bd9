-- Argo CD health of a replication.infinibox.io Replica or ConsistencyGroupReplica (same status).
-- Reads only status written by the operator. Argo CD runs it in gopher-lua (Lua 5.1) with only the
-- base, package and table libraries: no string or math library, so no string.find and no s:sub().
-- It agrees with kstatus (Flux) where both can tell: Stalled=True is Degraded, Reconciling=True is
-- Progressing; see docs/health.md for the table and where they differ on purpose.
local hs = {}

local function condition(status, ctype)
  if status == nil or status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == ctype then
      return c
    end
  end
  return nil
end

local function explain(c)
  if c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return c.reason or ""
end

local function is_true(c)
  return c ~= nil and c.status == "True"
end

-- What is in progress, in words, or nil: a deferred type change, a one-shot action, the initial sync.
local function progress(status, synced)
  if status.pendingReplicationType ~= nil then
    local message = "Change to " .. status.pendingReplicationType .. " deferred"
    if synced ~= nil and synced.status == "False" then
      message = message .. ": " .. explain(synced)
    end
    return message
  end
  if status.lastAction ~= nil and status.lastAction.result == "InProgress" then
    return "Action " .. status.lastAction.type .. " (" .. status.lastAction.id .. ") in progress"
  end
  if status.syncState == "INITIALIZING" then
    local message = "Initial synchronization in progress"
    if status.progress ~= nil then
      message = message .. " (" .. status.progress .. "%)"
    end
    return message
  end
  return nil
end

local status = obj.status
local generation = obj.metadata.generation
if status == nil or status.conditions == nil or #status.conditions == 0 then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end
local ready = condition(status, "Ready")
local synced = condition(status, "Synced")
local reconciling = condition(status, "Reconciling")
local stalled = condition(status, "Stalled")

-- A status computed from an older spec says nothing about the current one.
local observed = status.observedGeneration
if observed == nil and ready ~= nil then
  observed = ready.observedGeneration
end
if generation ~= nil and observed ~= nil and observed < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation .. " (status is of " .. observed .. ")"
  return hs
end

-- Stuck until the user acts (kstatus: Failed).
if is_true(stalled) then
  hs.status = "Degraded"
  hs.message = stalled.reason .. ": " .. explain(stalled)
  return hs
end

-- Errors now: the array refused, is unreachable, the entity is missing, someone else owns it...
if synced ~= nil and synced.status == "False" and synced.reason ~= "TypeChangeDeferred" then
  hs.status = "Degraded"
  hs.message = synced.reason .. ": " .. explain(synced)
  return hs
end
if status.state == "AUTO_SUSPENDED" then
  hs.status = "Degraded"
  local why = "The array suspended the replication by itself"
  if ready ~= nil and ready.status == "False" then
    why = ready.reason .. ": " .. explain(ready)
  end
  hs.message = why
  return hs
end

-- Work in progress (kstatus: InProgress): creating, the initial sync, a deferred type change, an action.
if is_true(reconciling) then
  hs.status = "Progressing"
  hs.message = progress(status, synced) or explain(reconciling)
  return hs
end

-- Suspended on purpose: spec.suspended is true and the array agrees.
if obj.spec ~= nil and obj.spec.suspended == true then
  if status.state == "SUSPENDED" then
    hs.status = "Suspended"
    hs.message = "Replication is suspended (spec.suspended is true)"
  else
    hs.status = "Progressing"
    hs.message = "Waiting for the array to suspend the replication"
  end
  return hs
end
if status.state == "SUSPENDED" then
  hs.status = "Progressing"
  hs.message = "Waiting for the array to resume the replication"
  return hs
end

if ready ~= nil and ready.status == "False" and ready.reason ~= "Initializing" then
  hs.status = "Degraded"
  hs.message = ready.reason .. ": " .. explain(ready)
  return hs
end

-- Status from an operator that does not write Reconciling yet: the same signs of work in progress.
local doing = progress(status, synced)
if doing ~= nil then
  hs.status = "Progressing"
  hs.message = doing
  return hs
end
if not is_true(ready) then
  hs.status = "Progressing"
  if ready ~= nil then
    hs.message = explain(ready)
  else
    hs.message = "Waiting for the Ready condition"
  end
  return hs
end

hs.status = "Healthy"
hs.message = explain(ready)
return hs
