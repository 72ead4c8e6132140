-- Signed WhatsApp webhook deliveries for wrk: `wrk ... -s whatsapp_wrk.lua URL -- FILE`.
-- FILE holds one request a line, "<X-Hub-Signature-256>\t<raw JSON body>", each sent once
-- in order (wrap-around repeats them as duplicates). The done() of wrk_report.lua
-- prints the exact percentiles.
local dir = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(dir .. "wrk_report.lua")

local requests = {}
local next_index = 1

init = function(args)
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    requests[#requests + 1] = wrk.format("POST", "/webhooks/whatsapp", {
      ["Content-Type"] = "application/json",
      ["X-Hub-Signature-256"] = line:sub(1, tab - 1),
    }, line:sub(tab + 1))
  end
end

request = function()
  local r = requests[next_index]
  next_index = next_index % #requests + 1
  return r
end
