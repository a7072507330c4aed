"""OpenAI's generators (DALL·E, ChatGPT's image generation, Sora): their names, file names
and C2PA manifests. The ChatGPT claim generator also wraps uploads it only converted: the
action's agent decides."""

from __future__ import annotations

from provenance.markers.families import C2paNames, Family, FileName, Keyword, register

register(
    Family(
        name="openai",
        tool="OpenAI",
        keywords=(
            Keyword(
                "dall-e",
                "DALL·E",
                r"dall[·•\-_ .]?e",
                r"dall[·•\-_.]e|dalle",
                ("dall",),
                "DALL-E 3",
            ),
            Keyword(
                "chatgpt",
                "ChatGPT",
                r"chatgpt|gpt-image|gpt-4o",
                r"chatgpt|gpt-image",
                ("gpt",),
                "ChatGPT",
            ),
            Keyword(
                "openai",
                "OpenAI",
                r"openai",
                None,
                ("openai",),
                "OpenAI API",
            ),
            Keyword(
                "sora",
                "Sora",
                r"sora",
                r"openai sora",
                ("sora",),
                "Sora",
            ),
        ),
        file_names=(
            FileName(
                "dall-e",
                "DALL·E",
                r"DALL[·\-_ ]?E[ _]\d{4}-\d{2}-\d{2}.*",
                "DALL·E <date> <time> - <prompt>.png",
                "DALL·E 2024-05-01 10.22.31 - a fox.png",
            ),
            FileName(
                "chatgpt",
                "ChatGPT",
                r"ChatGPT Image .*",
                "ChatGPT Image <date>.png",
                "ChatGPT Image May 1, 2025, 10_22_31 AM.png",
            ),
        ),
        c2pa=(
            C2paNames(
                "openai",
                "OpenAI",
                agents=("dall·e", "dall-e", "gpt-4o", "gpt-image", "sora"),
            ),
        ),
        claim_words=("chatgpt", "openai", "dall", "sora"),
    )
)
