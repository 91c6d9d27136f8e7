"""Progress bars in a log (not a terminal): whole lines, never carriage returns."""

import io

from pipeline import progress


def test_a_bar_written_to_a_file_is_whole_lines_far_apart():
    log = io.StringIO()  # not a terminal
    for _ in progress.bar(range(1000), desc="work", unit="clip", file=log):
        pass
    text = log.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert lines[0].startswith("work:   0%") and lines[-1].startswith("work: 100%") and "1000/1000" in lines[-1]
    assert len(lines) == 2  # the start and the end: redraws are LOG_EVERY_S apart
