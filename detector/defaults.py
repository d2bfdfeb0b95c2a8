"""Defaults shared by the library and the command line (kept light: no heavy imports)."""

from __future__ import annotations

#: A segment is removed only when its advert probability reaches this: a doubtful segment stays.
#: Set with the shipped model: where its editorial loss on the challenge set (data/challenge)
#: is no higher than the previous model's at its default (see the README, Measured quality).
DEFAULT_THRESHOLD = 0.8
#: Labels kept by default besides editorial: neutral text is not promotional.
DEFAULT_KEEP = ("neutral",)
#: The --model value that names the shipped model.
DEFAULT_MODEL = "default"
#: Articles shown in full in an HTML report (the summary counts every article).
REPORT_LIMIT = 200
#: Task formats of `detector review pick` and `import`.
REVIEW_FORMATS = ("jsonl", "csv", "labelstudio")
#: At most this many review tasks from one article.
DEFAULT_PER_ARTICLE = 2
