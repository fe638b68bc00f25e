from medkb.cli.main import app

app()
