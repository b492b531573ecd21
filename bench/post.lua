-- wrk script: POST a unique, realistic update per request (ids unique per thread).
-- Optional argument (after `--`): a path prefix; each thread then appends the
-- update_id of every acknowledged update (2xx whose body names it) to
-- "<prefix>-<thread>", so bench/ingest.py can check each one is on disk.
local counter = 0
local threads = {}
local acked = nil
local words = {"olá", "bom", "dia", "pessoal", "alguém", "viu", "o", "jogo", "ontem", "😂", "que",
  "golaço", "não", "acredito", "merci", "beaucoup", "Grüße", "aus", "Köln", "привет", "你好", "👍🏽",
  "amanhã", "reunião", "às", "19h", "#meetup", "@maria", "https://example.org/agenda", "café"}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  if args[1] ~= nil then
    acked = io.open(args[1] .. "-" .. tid, "w")
    acked:setvbuf("no")
  end
end

request = function()
  counter = counter + 1
  local uid = 100000000 + tid * 10000000 + counter
  local text = {}
  for i = 1, 3 + counter % 20 do
    text[i] = words[1 + (counter * 7 + i * 13) % #words]
  end
  local body = string.format('{"update_id":%d,"message":{"message_id":%d,"from":{"id":%d,"is_bot":false,"first_name":"Pessoa%d","last_name":"Souza","username":"pessoa_%d","language_code":"pt-br"},"chat":{"id":-1001234567890,"title":"Grupo de Teste do telelake","username":"telelake_demo","type":"supergroup"},"date":%d,"text":"%s"}}',
    uid, uid, 10000 + counter % 300, counter % 300, counter % 300, 1764000000 + counter * 3, table.concat(text, " "))
  return wrk.format("POST", "/webhook", {["Content-Type"]="application/json", ["X-Telegram-Bot-Api-Secret-Token"]="bench-secret-123"}, body)
end

response = function(status, headers, body)
  if acked ~= nil and status >= 200 and status < 300 then
    local uid = string.match(body, '"update_id":(%d+)')
    if uid ~= nil then
      acked:write(uid, "\n")
    end
  end
end
