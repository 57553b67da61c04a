"""The book's citation style: the bibliography reads and sorts by author and year, as the text cites."""

import re

from ketamine_ptsd.presentation import citations


def test_every_entry_opens_with_its_authors_and_year_and_is_filed_by_surname():
    style = citations.HouseStyle()
    formatted = list(style.format_entries(citations._entries().values()))
    texts = [entry.text.render_as("text") for entry in formatted]
    labels = [entry.label for entry in formatted]
    for label, text in zip(labels, texts, strict=True):
        surname, year = re.fullmatch(r"(.+?)(?: et al\.| and .+)?, (\d{4})", label).groups()
        assert text.startswith(surname), text
        assert f"({year})." in text.split(". ", 1)[0] + text, text
        assert not re.search(r"\[[A-Z]+\+?\d{2}\]", text)
    surnames = [label.split(" ")[0].split(",")[0].lower() for label in labels]
    assert surnames == sorted(surnames)
    assert "Osmind, 2024" in labels


def test_accents_and_editions_read_as_words():
    assert "Otálora G., M." in citations.full("mitchell2023")
    assert "(2nd ed.)" in citations.full("vanbuuren2018")
    assert "Steegen, S., Tuerlinckx, F., Gelman, A., & Vanpaemel, W. (2016)." in citations.full("steegen2016")


def test_a_tables_source_is_found_in_the_bibliography_by_author_and_year_or_by_doi():
    assert citations.find("Blevins et al. 2015, J Trauma Stress 28:489") == "blevins2015"
    title_first = "So how special is special K? A systematic review. Eur J Psychotraumatol 2024. doi:10.1080/20008066.2023.2299124"
    assert citations.find(title_first) == "borgogna2024"
    assert citations.find("this re-analysis") is None
    assert citations.find("Blanchard et al. 2023, J Trauma Stress") is None


def test_the_bibliography_is_read_again_at_every_call(tmp_path, monkeypatch):
    """A build runs notebook after notebook in one kernel and records the files each one reads: every
    notebook that cites reads the file itself (then a changed entry runs it again), and sees it as it is."""
    bib = tmp_path / "references.bib"
    text = citations.BIB_FILE.read_text(encoding="utf-8")
    holm = text.index("@article{holm1979,")
    text = text[:holm] + text[holm:].replace("year = {1979}", "year = {YEAR}", 1)
    bib.write_text(text.replace("YEAR", "1979"), encoding="utf-8")
    monkeypatch.setattr(citations, "BIB_FILE", bib)
    assert citations.short("holm1979") == "Holm, 1979"
    bib.write_text(text.replace("YEAR", "1980"), encoding="utf-8")
    assert citations.short("holm1979") == "Holm, 1980" and "(1980)." in citations.full("holm1979")
