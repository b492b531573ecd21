"""The vocabulary of the simulated group: names, phrases, emoji, hours of activity.

Kept apart from the modules that generate traffic so that they read as
logic. The texts are deliberately awkward: accents, CJK, right-to-left script,
multi code-point emoji, a combining accent, narrow no-break spaces, quotes and
backslashes, all things a pipeline must carry through untouched.
"""

from __future__ import annotations

# fmt: off

# Relative activity per local hour, weekdays and weekends.
WEEKDAY_HOURS = [1.2, 0.6, 0.3, 0.2, 0.2, 0.4, 1.0, 2.5, 4.5, 6.0, 6.5, 6.5,
                  7.0, 6.0, 6.0, 6.5, 6.5, 6.0, 6.5, 7.0, 7.5, 7.5, 6.0, 3.5]
WEEKEND_HOURS = [2.0, 1.3, 0.8, 0.4, 0.2, 0.2, 0.3, 0.6, 1.5, 3.0, 4.5, 5.5,
                  6.0, 5.5, 5.0, 5.0, 5.0, 5.0, 5.5, 6.0, 6.5, 6.5, 6.0, 4.0]
DAY_VOLUME = [1.0, 1.0, 1.0, 1.0, 1.05, 0.55, 0.5]  # Monday .. Sunday

# language: (weight, first names, last names, phrases)
LANGS: dict[str, tuple[float, list[str], list[str], list[str]]] = {
    "pt": (0.55, ["João", "Maria", "José", "Ana", "Lucas", "Júlia", "Gabriel", "Beatriz", "Thiago",
                  "Letícia", "Conceição", "Estêvão", "Lívia", "Caio", "Mônica", "Sérgio", "Raíssa"],
           ["Silva", "Souza", "Gonçalves", "Araújo", "Simões", "Magalhães", "Brandão", "Câmara"],
           ["Bom dia, pessoal!", "Alguém sabe se a reunião de amanhã continua de pé?",
            "Eu acho que o problema está na conversão de fuso horário",
            "Não consegui acessar o relatório ontem à noite", "Valeu demais pela ajuda!",
            "Que calor hoje em São Paulo", "Vou almoçar e já volto",
            "Ótima ideia, vamos testar isso na próxima sprint",
            "Alguém tem uma recomendação de livro sobre estatística?",
            "Hoje o trânsito tá impossível", "Parabéns pelo lançamento, ficou incrível",
            "A apresentação foi ótima, obrigado a todos",
            "Já atualizei a planilha com os números de março",
            "Fiquei sem bateria no meio da chamada, desculpa", "Quem vai no encontro de sábado?",
            "Não é bem assim, depende muito do volume de dados",
            "Tô aprendendo SQL e estou adorando", "Que saudade de um pão de queijo quentinho",
            "Ação, coração, informação, ônibus, pôr do sol e açaí",
            "cafe\u0301 com leite e pão na chapa", 'Ele disse "vamos ver" e sumiu',
            "Salvei em C:\\Users\\dados\\relatório final", "Boa noite, até amanhã"]),
    "es": (0.1, ["José Luis", "María José", "Íñigo", "Sofía", "Martín", "Lucía", "Andrés"],
           ["García", "Núñez", "Peña", "Ibáñez", "Rodríguez", "Muñoz"],
           ["¿Alguien sabe cómo exportar esto a Parquet?", "¡Qué buena noticia!",
            "Mañana no puedo, tengo médico", "El año pasado hicimos algo parecido",
            "Gracias por compartir, está buenísimo", "¿Cuántos mensajes hubo ayer?",
            "Estoy en Córdoba esta semana"]),
    "en": (0.08, ["Emily", "Jack", "Olivia", "Noah", "Liam"], ["Smith", "O'Brien", "Johnson"],
           ["Good morning everyone!", "Has anyone tried the new release?",
            "Thanks, that fixed it", "I'll be a bit late today",
            "Great talk yesterday, well done"]),
    "fr": (0.06, ["François", "Chloé", "Hélène", "Jérôme", "Zoé", "Gaël", "Noémie"],
           ["Lefèvre", "Dubois", "Mercier", "Bélanger"],
           ["Bonjour à tous\u202f!", "Ça marche, je m'en occupe",
            "Où est-ce qu'on se retrouve ce soir\u202f?", "Très intéressant, merci beaucoup",
            "J'ai déjà vérifié, ça ne change rien", "Désolé, je suis en retard"]),
    "de": (0.06, ["Jürgen", "Jörg", "Björn", "Käthe", "Lena", "Sören"],
           ["Müller", "Schröder", "Weiß", "Groß", "Köhler"],
           ["Guten Morgen zusammen!", "Ich überprüfe das gleich",
            "Könnt ihr mir die Datei schicken?", "Schöne Grüße aus München",
            "Die Straße ist wegen Bauarbeiten gesperrt", "Übermorgen habe ich mehr Zeit"]),
    "ru": (0.06, ["Дмитрий", "Анна", "Сергей", "Ольга", "Алексей", "Юлия"],
           ["Иванов", "Смирнова", "Кузнецов", "Попова"],
           ["Всем привет!", "Я посмотрю это вечером", "Спасибо большое, очень помогло",
            "Кто-нибудь знает, как это работает?", "Ёлки-палки, опять ошибка",
            "Встреча перенесена на завтра"]),
    "ja": (0.03, ["さくら", "太郎", "陽菜", "翔太"], ["佐藤", "鈴木", "高橋"],
           ["おはようございます！", "ありがとうございます、助かりました",
            "明日の会議は何時からですか？",
            "データの集計が終わりました", "東京は雨です☔"]),
    "zh": (0.03, ["伟", "芳", "小明", "静"], ["王", "李", "张"],
           ["大家好！", "谢谢你的帮助", "今天的数据看起来不错", "我明天再检查一下"]),
    "ko": (0.02, ["민준", "서연", "지우"], ["김", "박"],
           ["안녕하세요!", "오늘 회의는 몇 시예요?", "좋은 아이디어네요"]),
    "ar": (0.01, ["محمد", "فاطمة"], ["حسن"], ["مرحبا بالجميع", "شكرا جزيلا"]),
}
SHORT = ["kkkkk", "kkkkkkkkkk", "haha", "rsrs", "sim", "não", "ok", "+1", "👍", "👍🏽", "😂😂😂",
          "❤️", "🔥🔥", "👨‍👩‍👧", "🇧🇷", "boa!", "verdade", "jajaja", "merci", "danke", "да",
          "はい", "好的", "ㅋㅋㅋ", "🙏🏻", "👀", "🤷‍♀️", "valeu", "obrigado!"]
EMOJI = ["😂", "🤣", "👍", "👍🏽", "👍🏿", "🙏🏻", "❤️", "🔥", "🎉", "😅", "🤔", "👀", "💯", "🚀",
          "☕", "🇧🇷", "🇵🇹", "👨‍👩‍👧", "👩🏽‍💻", "🏳️‍🌈", "🤷‍♀️", "🙌🏾", "🥲", "🫠"]
HASHTAGS = ["#dados", "#sql", "#vagas", "#python", "#café", "#São_Paulo", "#dúvida",
             "#DataLake", "#データ", "#данные"]
URLS = ["https://github.com/telelake/telelake", "https://pt.wikipedia.org/wiki/Açaí",
         "https://exemplo.com.br/artigo?id=42&utm_source=telegram",
         "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "docs.python.org/3/library/zoneinfo.html",
         "https://t.me/dadosecafe/3"]
BOLD = ["importante", "atenção", "URGENTE", "amanhã", "grátis"]
EDIT_SUFFIX = ["(editado)", "✏️ corrigido", "*amanhã", "ops, errei o horário: 15h",
                "edit: já resolvi"]
USERNAME_WORDS = ["cafe", "dados", "lua", "nerd", "tech", "sol", "mar", "pixel", "byte", "rio",
                   "gato", "panda", "ninja", "zen", "data", "code"]
NAME_FLAIR = [" 🌻", " ✨", " 🇧🇷", " 🐱", " 👨‍💻"]
REACTIONS = ["👍", "❤", "🔥", "😁", "🤣", "🎉", "🙏", "👏", "🤔", "😢", "💯", "❤‍🔥", "👨‍💻", "🤷‍♀"]
CHANNELS = [{"id": -1001111111111, "title": "Canal Notícias 📰", "username": "canalnoticias",
              "type": "channel"},
             {"id": -1002222222222, "title": "Dados Abertos BR", "username": "dadosabertosbr",
              "type": "channel"},
             {"id": -1003333333333, "title": "Tech Français 🇫🇷", "type": "channel"}]
HIDDEN_NAMES = ["Maria S.", "Дмитрий", "佐藤さん", "Zoë 🌙"]
STICKER_SETS = [("DadosECafe", False, False), ("HotCherry", True, False),
                 ("PepeVideo", False, True)]
STICKER_EMOJI = ["😂", "👍", "☕", "🔥", "😴", "🎉", "😡", "❤️"]
# fmt: on
