"""Replacing a unique constraint on a large table without holding a long lock
(docs/scaling.md, "The distributed path", step 2).

Django's RemoveConstraint + AddConstraint would drop the old constraint, then
build the new index under a lock that blocks every write (and, for a table
constraint, every read) for as long as the build takes, with a moment in
between when nothing refuses a duplicate. Here, on PostgreSQL:

1. the new index is built with CREATE UNIQUE INDEX CONCURRENTLY under a
   temporary name (reads and writes go on; the migration must be non-atomic);
2. the old constraint or index is dropped and the new one takes its name: for a
   partial unique index, DROP INDEX CONCURRENTLY then ALTER INDEX RENAME (a
   SHARE UPDATE EXCLUSIVE lock, which blocks no read or write); for a table
   constraint, one ALTER TABLE that drops the old constraint and adopts the
   built index (ADD CONSTRAINT … UNIQUE USING INDEX): an exclusive lock held
   for a catalog change only, no scan, with a lock_timeout so that it gives
   up rather than queue every request behind a long transaction.

The old index keeps refusing duplicates until the new one, already valid, does.
Each step is idempotent: a run interrupted anywhere (an invalid index left by a
failed concurrent build included) can be run again. The constraint keeps its
name, which the code matches on (IntegrityError messages).

Elsewhere (SQLite) the schema editor's own remove and add run: small tables,
no concurrent writers to protect.
"""

from django.db import migrations, models, transaction

# How long the brief exclusive lock of a table-constraint swap may wait.
SWAP_LOCK_TIMEOUT = "10s"


def _columns(model: type[models.Model], fields: tuple[str, ...] | list[str]) -> str:
    return ", ".join(model._meta.get_field(field).column for field in fields)


def _postgresql_swap(
    schema_editor, model, constraint: models.UniqueConstraint, where: str | None
) -> None:
    table = model._meta.db_table
    name = constraint.name
    building = f"{name}_new"
    columns = _columns(model, constraint.fields)
    execute = schema_editor.execute
    execute(f"DROP INDEX CONCURRENTLY IF EXISTS {building}")
    predicate = f" WHERE {where}" if where else ""
    execute(f"CREATE UNIQUE INDEX CONCURRENTLY {building} ON {table} ({columns}){predicate}")
    if where:
        execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        execute(f"ALTER INDEX {building} RENAME TO {name}")
        return
    with transaction.atomic(using=schema_editor.connection.alias):
        execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
        execute(
            f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name},"
            f" ADD CONSTRAINT {name} UNIQUE USING INDEX {building}"
        )


class ReplaceUniqueConstraint(migrations.operations.base.Operation):
    """Replace `old` by `new` (same name and condition, other fields; the
    condition given again as SQL in `where` for PostgreSQL), in a migration
    with `atomic = False`."""

    reversible = True

    def __init__(
        self,
        model_name: str,
        old: models.UniqueConstraint,
        new: models.UniqueConstraint,
        where: str | None = None,
    ) -> None:
        assert old.name == new.name and old.condition == new.condition
        assert (where is None) == (new.condition is None)
        self.model_name, self.old, self.new, self.where = model_name, old, new, where

    def deconstruct(self):
        kwargs = {"model_name": self.model_name, "old": self.old, "new": self.new}
        if self.where is not None:
            kwargs["where"] = self.where
        return self.__class__.__name__, [], kwargs

    def describe(self) -> str:
        return f"Replace constraint {self.new.name} on {self.model_name} (no long lock)"

    def _steps(self, old, new):
        return (
            migrations.RemoveConstraint(model_name=self.model_name, name=old.name),
            migrations.AddConstraint(model_name=self.model_name, constraint=new),
        )

    def state_forwards(self, app_label, state) -> None:
        for step in self._steps(self.old, self.new):
            step.state_forwards(app_label, state)

    def _database(self, app_label, schema_editor, from_state, to_state, old, new) -> None:
        if schema_editor.connection.vendor == "postgresql":
            model = to_state.apps.get_model(app_label, self.model_name)
            _postgresql_swap(schema_editor, model, new, self.where)
            return
        remove, add = self._steps(old, new)
        between = from_state.clone()
        remove.state_forwards(app_label, between)
        remove.database_forwards(app_label, schema_editor, from_state, between)
        add.database_forwards(app_label, schema_editor, between, to_state)

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        self._database(app_label, schema_editor, from_state, to_state, self.old, self.new)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        self._database(app_label, schema_editor, from_state, to_state, self.new, self.old)
