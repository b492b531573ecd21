"""The text stage: what people write, as columns, terms and weekly topics.

``columns`` adds each message's language, sentiment and counts to
``telegram`` and its words, emoji, hashtags, mentions and domains to
``telegram_terms``, inside every date's build; ``weeks`` groups each chat's
messages of a week into topics (``telegram_topics``) once the week's dates
are built. Everything it reads ships in installed packages
(``resources``): nothing is downloaded, and the same raw data gives the
same bytes.
"""
