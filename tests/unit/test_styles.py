from dashboard.ui.styles import FILES, css_paths


def test_every_stylesheet_the_app_lists_exists() -> None:
    paths = css_paths()
    assert [p.name for p in paths] == list(FILES)
    assert all(p.is_file() and p.read_text().strip() for p in paths)
