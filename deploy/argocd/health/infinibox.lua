-- Argo CD health of a replication.infinibox.io InfiniBox: the Connected condition.
-- Reads only status written by the operator; Lua 5.1 (gopher-lua), no libraries.
local hs = {}
local connected = nil
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Connected" then
      connected = c
    end
  end
end

local generation = obj.metadata.generation
local observed = nil
if obj.status ~= nil then
  observed = obj.status.observedGeneration
end
if connected == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to connect to the array"
  return hs
end

if generation ~= nil and observed ~= nil and observed < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation .. " (status is of " .. observed .. ")"
  return hs
end

local message = connected.message
if message == nil or message == "" then
  message = connected.reason or ""
end
if connected.status == "True" then
  hs.status = "Healthy"
elseif connected.status == "False" then
  hs.status = "Degraded"
  message = connected.reason .. ": " .. message
else
  hs.status = "Progressing"
end
hs.message = message
return hs
