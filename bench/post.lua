-- wrk script: POST a unique, realistic update per request (ids unique per thread).
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  counter = 0
end
request = function()
  counter = counter + 1
  local uid = 100000000 + tid * 10000000 + counter
  local body = string.format('{"update_id":%d,"message":{"message_id":%d,"from":{"id":%d,"is_bot":false,"first_name":"Pessoa","username":"pessoa_x","language_code":"pt-br"},"chat":{"id":-1001234567890,"title":"Grupo de Teste do telelake","username":"telelake_demo","type":"supergroup"},"date":%d,"text":"olá bom dia pessoal alguém viu o jogo ontem 😂 que golaço não acredito merci beaucoup Grüße aus Köln привет 你好 👍🏽 amanhã reunião às 19h #meetup @maria https://example.org/agenda café"}}', uid, uid, 1000 + counter % 300, 1764000000 + counter)
  return wrk.format("POST", "/webhook", {["Content-Type"]="application/json", ["X-Telegram-Bot-Api-Secret-Token"]="bench-secret-123"}, body)
end
