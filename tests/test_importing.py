"""The importer: every accepted variant, every refusal, and that a refusal changes nothing."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicators import importing
from indicators.errors import ImportRefused, Refused
from indicators.exporting import write_template
from indicators.history import current_values
from indicators.importing import import_file, import_files, parse_number, record_value

from .conftest import imp, snapshot


def values(store) -> dict:
    frame = current_values(store)
    return {(r.indicator, r.year): r.value for r in frame.itertuples()}


def refused(store, text, name="f.csv", encoding="utf-8") -> list[str]:
    before = snapshot(store)
    with pytest.raises(ImportRefused) as e:
        imp(store, text, name, encoding)
    assert snapshot(store) == before
    return [str(err) for err in e.value.errors]


# -- accepted variants ---------------------------------------------------------------------------


@pytest.mark.parametrize("sep", [";", ",", "\t"])
def test_separators(store, sep):
    imp(store, f"indicateur{sep}année{sep}valeur\nF1.1{sep}2016{sep}42\nF1.3{sep}2017{sep}21\n")
    assert values(store) == {("F1.1", 2016): 42, ("F1.3", 2017): 21}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252"])
def test_encodings(store, encoding):
    text = "Indicateur;Année;Valeur;Commentaire\r\nF1.1;2016;42;Coût 1 500 € – l’œuvre « réussie »\r\n"
    r = imp(store, text, encoding=encoding)
    assert r.added == 1
    assert current_values(store)["comment"][0] == "Coût 1 500 € – l’œuvre « réussie »"


def test_windows_1252_is_not_latin_1(store):
    data = "indicateur;annee;valeur;commentaire\nF1.1;2016;42;€ ’ œ\n".encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert data.decode("latin-1") != "indicateur;annee;valeur;commentaire\nF1.1;2016;42;€ ’ œ\n"
    import_file(store, "w.csv", data, "test")
    assert current_values(store)["comment"][0] == "€ ’ œ"


def test_crlf_trailing_empty_columns_and_rows(store):
    imp(store, "indicateur;année;valeur;;\r\nF1.1;2016;42;;\r\nF1.3;2016;8;;\r\n;;;;\r\n;;;;\r\n\r\n")
    assert values(store) == {("F1.1", 2016): 42, ("F1.3", 2016): 8}


@pytest.mark.parametrize(
    "number", ["1234", "1 234", "1\u00a0234", "1\u202f234", " 1234 ", "1.234,0", "1234,0", "+1234", "1,234.0"]
)
def test_thousands_separators(store, number):
    imp(store, f'indicateur;année;valeur\nF2.1;2017;"{number}"\n')
    assert values(store) == {("F2.1", 2017): 1234}


def test_decimal_comma_for_a_fractional_indicator(small_store):
    imp(small_store, "indicateur;année;valeur\nA2;2020;7,5\nA2;2021;8.25\n")
    assert values(small_store) == {("A2", 2020): 7.5, ("A2", 2021): 8.25}


@pytest.mark.parametrize(
    "header",
    [
        "indicateur;année;valeur",
        "INDICATEUR;ANNÉE;VALEUR",
        "  Indicateur ; Annee ; Réalisé ",
        "code;year;value",
        "indicator;annee;realise",
        "Code;Année;Réalisation",
        "indicateur;année;valeur;observations",
        "indicateur;année;valeur;Comment",
    ],
)
def test_header_synonyms_case_accents_spaces(store, header):
    row = "F1.1;2016;42" + (";ok" if header.count(";") == 3 else "")
    imp(store, f"{header}\n{row}\n")
    assert values(store) == {("F1.1", 2016): 42}


@pytest.mark.parametrize(
    "given",
    [
        "f1.1",
        " F1.1 ",
        "Entreprises (TPE) accompagnées par le dispositif ARDAN",
        "entreprises (tpe) accompagnees par le dispositif ardan",
        "ENTREPRISES (TPE) ACCOMPAGNÉES PAR LE DISPOSITIF ARDAN",
    ],
)
def test_indicator_by_code_or_label(store, given):
    imp(store, f"indicateur;année;valeur\n{given};2016;42\n")
    assert values(store) == {("F1.1", 2016): 42}


def test_label_with_ligature_and_quotes(store):
    imp(store, 'indicateur;année;valeur\nStages courts "sur mesure" mis en oeuvre pour les entreprises;2017;4\n')
    assert values(store) == {("F2.4", 2017): 4}


def test_wide_layout_blank_means_not_given(store):
    imp(store, "indicateur;libellé;2016;2017;2018;commentaire\nF1.1;ARDAN;42;;85;c\nF2.1;x;540;585;;\n")
    assert values(store) == {("F1.1", 2016): 42, ("F1.1", 2018): 85, ("F2.1", 2016): 540, ("F2.1", 2017): 585}
    # A blank cell never erases a value that is already there.
    imp(store, "indicateur;2016;2017\nF1.1;;64\n")
    assert values(store)[("F1.1", 2016)] == 42


def test_wide_layout_with_labelled_year_headers(store):
    imp(store, "Code;Réalisé 2016;Réalisé 2017\nF1.1;42;64\n")
    assert values(store) == {("F1.1", 2016): 42, ("F1.1", 2017): 64}


@pytest.mark.parametrize("year", ["2016.0", "+2016", "02016", "2e03", "2016,5", "２０１６", "2 016"])
def test_a_year_is_four_digits(store, year):
    assert refused(store, f"indicateur;année;valeur\nF1.1;{year};4\n") == [
        f"ligne 2, colonne « année » : « {year} » n'est pas une année (attendu : une année de 2016 à 2018)"
    ]


def test_spaces_around_a_year_are_ignored(store):
    imp(store, "indicateur;année;valeur\nF1.1; 2016 ;4\nF1.3;2017  ;5\n")
    assert values(store) == {("F1.1", 2016): 4, ("F1.3", 2017): 5}


def test_files_with_and_without_repeated_pairs_in_one_import(store):
    plain = ("a.csv", b"indicateur;annee;valeur\nF1.1;2016;42\n")
    repeated = ("b.csv", b"indicateur;annee;valeur\nF1.3;2016;8\nF1.3;2016;8\n")
    results = import_files(store, [plain, repeated, ("c.csv", b"indicateur;annee;valeur\nF2.1;2016;540\n")], "t")
    assert [(r.added, r.unchanged) for r in results] == [(1, 0), (1, 0), (1, 0)]
    results = import_files(store, [repeated, plain], "t")
    assert [(r.added, r.unchanged) for r in results] == [(0, 1), (0, 1)]
    assert values(store) == {("F1.1", 2016): 42, ("F1.3", 2016): 8, ("F2.1", 2016): 540}


@pytest.mark.parametrize("dense", [True, False])
def test_repeated_pairs_are_found_both_ways(store, monkeypatch, dense):
    if not dense:  # a framework too large for the counting array: the SQL DISTINCT decides
        monkeypatch.setattr(importing, "DENSE_PAIRS_MAX", 0)
    assert refused(store, "indicateur;annee;valeur\nF1.1;2016;42\nF1.3;2016;8\nF1.1;2016;43\n") == [
        "ligne 4, colonne « valeur » : F1.1 2016 figure aussi ligne 2 avec une autre valeur (« 42 » et « 43 ») : "
        "gardez une seule ligne"
    ]
    r = imp(store, "indicateur;annee;valeur;commentaire\nF1.1;2016;42;\nF1.3;2016;8;\nF1.1;2016;42;vu\n")
    assert (r.added, r.unchanged) == (2, 0)
    assert values(store) == {("F1.1", 2016): 42, ("F1.3", 2016): 8}


def test_two_columns_for_the_same_year_are_refused(store):
    assert refused(store, "indicateur;2016;Réalisé 2016\nF1.1;40;45\n") == [
        "ligne 1, colonne « Réalisé 2016 » : les colonnes « 2016 » et « Réalisé 2016 » désignent toutes deux "
        "l'année 2016 : gardez-en une seule"
    ]


def test_repeated_pairs_in_a_wide_file_agree_or_are_named(store):
    imp(store, "indicateur;2016;2017\nF1.1;42;64\nf1.1;42;\n")
    assert values(store) == {("F1.1", 2016): 42, ("F1.1", 2017): 64}
    assert refused(store, "indicateur;2016;2017\nF1.1;42;64\nF1.1;43;64\n") == [
        "ligne 3, colonne « 2016 » : F1.1 2016 figure aussi ligne 2 avec une autre valeur (« 42 » et « 43 ») : "
        "gardez une seule ligne"
    ]


def test_quoted_fields_with_separators_and_newlines_keep_line_numbers(store):
    text = 'indicateur;année;valeur;commentaire\nF1.1;2016;42;"a; b\nc"\n\nF1.3;2016;x;\n'
    assert refused(store, text) == ["ligne 4, colonne « valeur » : « x » n'est pas un nombre (attendu : un entier ≥ 0)"]


def test_ragged_rows_use_the_exact_reader(store):
    r = imp(store, "indicateur;année;valeur;commentaire\nF1.1;2016;42\nF1.3;2016;8;ok;\n")
    assert r.added == 2
    assert values(store) == {("F1.1", 2016): 42, ("F1.3", 2016): 8}


def test_text_is_stored_as_given(store):
    hostile = "<script>alert('x')</script> =cmd|' /C calc'!A0 ; \"quoted\""
    imp(store, 'indicateur;année;valeur;commentaire\nF1.1;2016;42;"' + hostile.replace('"', '""') + '"\n')
    assert current_values(store)["comment"][0] == hostile


def test_same_value_twice_is_accepted_once(store):
    r = imp(store, "indicateur;année;valeur\nF1.1;2016;42\nf1.1;2016;42,0\n")
    assert (r.added, r.changed, r.unchanged) == (1, 0, 0)


def test_xlsx_input(store, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Indicateur", "Année", "Valeur", "Commentaire"])
    ws.append(["F1.1", 2016, 42, "ok"])
    ws.append([None, None, None, None])
    ws.append(["F2.1", 2017, 585.0, None])
    ws.append(["F1.3", 2016, "cinquante", None])
    buffer = io.BytesIO()
    wb.save(buffer)
    with pytest.raises(ImportRefused) as e:
        import_file(store, "x.xlsx", buffer.getvalue(), "test")
    assert [str(x) for x in e.value.errors] == [
        "ligne 5, colonne « Valeur » : « cinquante » n'est pas un nombre (attendu : un entier ≥ 0)"
    ]
    ws.delete_rows(5)
    buffer = io.BytesIO()
    wb.save(buffer)
    import_file(store, "x.xlsx", buffer.getvalue(), "test")
    assert values(store) == {("F1.1", 2016): 42, ("F2.1", 2017): 585}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_filled_template_round_trip(store, tmp_path, fmt):
    path = write_template(store.framework(), fmt, tmp_path / f"modele.{fmt}")
    empty = import_file(store, path.name, path.read_bytes(), "test")
    assert (empty.added, empty.changed) == (0, 0)
    assert empty.warnings == ["Le fichier ne contient aucune valeur."]
    if fmt == "csv":
        text = (
            path.read_bytes()
            .decode("utf-8-sig")
            .replace("F1.1;Entreprises (TPE) accompagnées par le dispositif ARDAN;entreprises;;;;", "F1.1;x;y;42;64;;")
        )
        data = text.encode("utf-8-sig")
    else:
        from openpyxl import load_workbook

        wb = load_workbook(path)
        wb["Saisie"]["D2"] = 42
        wb["Saisie"]["E2"] = 64
        buffer = io.BytesIO()
        wb.save(buffer)
        data = buffer.getvalue()
        assert wb.sheetnames == ["Saisie", "Aide"]
    import_file(store, path.name, data, "test")
    assert values(store) == {("F1.1", 2016): 42, ("F1.1", 2017): 64}


# -- refusals ------------------------------------------------------------------------------------


def test_every_error_at_once_with_line_column_value(store):
    text = (
        "indicateur;année;valeur\n"
        "F11;2016;1\n"  # 2 unknown indicator
        "F1.1;2019;1\n"  # 3 year outside
        "F1.1;2016;\n"  # 4 empty
        "F1.1;2016;cinquante\n"  # 5 non-numeric
        "F1.3;2016;-3\n"  # 6 negative
        "F1.3;2017;4,5\n"  # 7 fraction
        "F1.3;2018;5000\n"  # 8 above plausible bound
        "F2.1;2017;1e400\n"  # 9 beyond capacity
        "F2.4;2017;5\n"  # 10
        "F2.4;2017;6\n"  # 11 conflict with line 10
        ";2017;6\n"  # 12 missing indicator
        "F2.4;17;6\n"
    )  # 13 not a year
    assert refused(store, text) == [
        "ligne 2, colonne « indicateur » : « F11 » n'est pas un indicateur de la convention (vouliez-vous dire "
        "« F1.1 » – Entreprises (TPE) accompagnées par le dispositif ARDAN ?)",
        "ligne 3, colonne « année » : « 2019 » est hors de la période de la convention (attendu : une année de 2016 "
        "à 2018)",
        "ligne 4, colonne « valeur » : valeur manquante (attendu : un entier ≥ 0 ; supprimez la ligne si la valeur "
        "n'est pas connue)",
        "ligne 5, colonne « valeur » : « cinquante » n'est pas un nombre (attendu : un entier ≥ 0)",
        "ligne 6, colonne « valeur » : « -3 » est négatif (attendu : un entier ≥ 0)",
        "ligne 7, colonne « valeur » : « 4,5 » n'est pas un entier (attendu : un entier ≥ 0)",
        "ligne 8, colonne « valeur » : « 5000 » dépasse la valeur plausible maximale de 2 000 pour F1.3 (vérifiez le "
        "nombre saisi ou l'unité)",
        "ligne 9, colonne « valeur » : « 1e400 » est trop grand pour être enregistré (attendu : un nombre inférieur "
        "à un million de milliards)",
        "ligne 11, colonne « valeur » : F2.4 2017 figure aussi ligne 10 avec une autre valeur (« 5 » et « 6 ») : "
        "gardez une seule ligne",
        "ligne 12, colonne « indicateur » : indicateur manquant (attendu : un code comme F1.1 ou un libellé officiel)",
        "ligne 13, colonne « année » : « 17 » n'est pas une année (attendu : une année de 2016 à 2018)",
    ]


def test_unknown_label_suggests_the_nearest(store):
    errors = refused(store, "indicateur;année;valeur\nPositionnements entrepreneuriaux;2016;3\n")
    assert "vouliez-vous dire « F1.3 » – Positionnements entrepreneuriaux réalisés ?" in errors[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("indicateur;valeur\nF1.1;3\n", "ligne 1, colonne « année » : colonne obligatoire « année » absente"),
        ("année;valeur\n2016;3\n", "ligne 1, colonne « indicateur » : colonne obligatoire « indicateur » absente"),
        ("indicateur;année;montant\nF1.1;2016;3\n", "ligne 1, colonne « valeur » : colonne obligatoire « valeur »"),
        ("indicateur;valeur;réalisé;année\nF1.1;1;2;2016\n", "la colonne « valeur » apparaît deux fois"),
        (
            "indicateur;2016;2020\nF1.1;1;2\n",
            "ligne 1, colonne « 2020 » : la colonne « 2020 » désigne une année hors de la période",
        ),
    ],
)
def test_header_errors(store, text, expected):
    errors = refused(store, text)
    assert any(expected in e for e in errors), errors


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "le fichier est vide"),
        (b"\r\n\r\n  ", "le fichier est vide"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "document PDF"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "Excel 97-2003"),
        (bytes(range(256)) * 4, "ce n'est ni un fichier texte"),
        (b"PK\x03\x04garbage", "archive compressée"),
    ],
)
def test_file_level_refusals(store, data, expected):
    before = snapshot(store)
    with pytest.raises(ImportRefused) as e:
        import_file(store, "f.bin", data, "test")
    assert snapshot(store) == before
    [error] = e.value.errors
    assert error.line == 1 and expected in str(error) and str(error).startswith("ligne 1")


def test_size_and_row_limits(store):
    text = "indicateur;année;valeur\n" + "F1.1;2016;1\n" * 50
    with pytest.raises(ImportRefused, match="refusé") as e:
        import_file(store, "f.csv", text.encode(), "test", max_bytes=100)
    assert "au-delà de la limite de" in str(e.value.errors[0])
    with pytest.raises(ImportRefused) as e:
        import_file(store, "f.csv", text.encode(), "test", max_rows=10)
    assert "le fichier compte 50 lignes, au-delà de la limite de 10 lignes" in str(e.value.errors[0])


def test_several_files_all_or_nothing(store):
    before = snapshot(store)
    good = b"indicateur;annee;valeur\nF1.1;2016;42\n"
    bad = b"indicateur;annee;valeur\nF1.1;2017;x\n"
    with pytest.raises(ImportRefused) as e:
        import_files(store, [("bon.csv", good), ("mauvais.csv", bad)], "test")
    assert [name for name, _ in e.value.refusals] == ["mauvais.csv"]
    assert snapshot(store) == before
    results = import_files(store, [("a.csv", good), ("b.csv", b"indicateur;annee;valeur\nF1.1;2016;43\n")], "test")
    assert [(r.added, r.changed) for r in results] == [(1, 0), (0, 1)]
    assert values(store) == {("F1.1", 2016): 43}


def test_dry_run_shows_the_change_and_writes_nothing(store):
    imp(store, "indicateur;annee;valeur\nF1.1;2016;42\nF1.3;2016;8\n")
    before = snapshot(store)
    r = imp(store, "indicateur;annee;valeur\nF1.1;2016;45\nF1.3;2016;8\nF2.1;2016;540\n", dry_run=True)
    assert snapshot(store) == before
    assert (r.added, r.changed, r.unchanged, r.changeset_id) == (1, 1, 1, None)
    changed = r.changes.set_index("indicator")
    assert changed.loc["F1.1", "old_value"] == 42 and changed.loc["F1.1", "value"] == 45
    assert changed.loc["F2.1", "change"] == "nouveau"


def test_a_failed_transaction_changes_nothing(store, monkeypatch):
    imp(store, "indicateur;annee;valeur\nF1.1;2016;42\n")
    before = snapshot(store)
    real = importing.write_diff

    def failing(con, *args, **kwargs):
        real(con, *args, **kwargs)  # the changeset and versions are written…
        raise RuntimeError("disk full")  # …then the process fails before the commit

    monkeypatch.setattr(importing, "write_diff", failing)
    with pytest.raises(RuntimeError):
        imp(store, "indicateur;annee;valeur\nF1.1;2016;50\nF1.3;2016;8\n")
    assert snapshot(store) == before


def test_reimporting_the_same_file_is_flagged(store):
    imp(store, "indicateur;annee;valeur\nF1.1;2016;42\n")
    r = imp(store, "indicateur;annee;valeur\nF1.1;2016;42\n")
    assert (r.added, r.changed, r.unchanged) == (0, 0, 1)
    assert r.warnings == ["Ce fichier identique a déjà été importé (import n° 1)."]


def test_demo_data_refuses_real_imports(store):
    from indicators.demo import load_demo

    load_demo(store)
    with pytest.raises(Refused, match="DONNÉES D'EXEMPLE"):
        imp(store, "indicateur;annee;valeur\nF1.1;2016;42\n")


# -- one value by hand ---------------------------------------------------------------------------


def test_record_value_requires_a_reason_and_validates(store):
    with pytest.raises(Refused, match="raison"):
        record_value(store, "F1.1", 2016, "42", "test", reason="  ")
    with pytest.raises(ImportRefused) as e:
        record_value(store, "F1.1", 2016, "4,5", "test", reason="correction")
    assert e.value.errors[0].message == "« 4,5 » n'est pas un entier (attendu : un entier ≥ 0)"
    r = record_value(store, "f1.1", 2016, "1 042", "test", reason="chiffre CNAM du 3 mars", comment="vérifié")
    assert r.added == 1
    assert values(store) == {("F1.1", 2016): 1042}


# -- number parsing (property-based) -------------------------------------------------------------

GROUPS = ["", " ", "\u00a0", "\u202f"]


def french(n: int, sep: str) -> str:
    return f"{n:,}".replace(",", sep) if sep else str(n)


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=-(10**12), max_value=10**12), st.sampled_from(GROUPS))
def test_integers_in_french_notation(n, sep):
    assert parse_number(french(n, sep)) == n


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=99), st.sampled_from(GROUPS))
def test_decimals_with_a_comma(whole, cents, sep):
    text = f"{french(whole, sep)},{cents:02d}"
    assert parse_number(text) == pytest.approx(whole + cents / 100)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="abcxyz%$#!?;:/", min_size=1, max_size=12))
def test_words_are_not_numbers(text):
    assert parse_number(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 234,56 €", 1234.56),
        ("−12", -12),
        ("1.234.567", 1234567),
        ("1,234,567.5", 1234567.5),
        ("0", 0),
        ("1,5E+06", 1.5e6),
        ("12,", None),
        ("1 2 3,4,5", None),
        ("", None),
        ("12 %", None),
    ],
)
def test_number_examples(text, expected):
    assert parse_number(text) == expected
