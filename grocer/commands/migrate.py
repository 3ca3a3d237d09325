from grocer.command_base import GrocerCommand


class Command(GrocerCommand):
    def short_desc(self):
        return "Bring the configured database (GROCER_DATABASE_URL) to the newest schema"

    def long_desc(self):
        return (
            "Runs grocer's Alembic migrations up to head on the database named by "
            "GROCER_DATABASE_URL (default: sqlite:///grocer.sqlite3). Safe to run again: "
            "a database already at head is left as it is."
        )

    def run(self, args, opts):
        from grocer.db import migrate
        from grocer.db.engine import normalize_url

        engine = self.engine()
        before = migrate.current_revision(engine)
        migrate.upgrade(engine)
        after = migrate.current_revision(engine)
        where = normalize_url(self.settings.get("GROCER_DATABASE_URL")).render_as_string(
            hide_password=True)
        if before == after:
            print(f"{where}: already at {after}")
        else:
            print(f"{where}: migrated {before or 'empty'} -> {after}")
