"""web: users, tenant grants, sessions, API tokens, login attempts; full-text search index

Revision ID: 0004
Revises: 0001

The search index: SQLite gets an FTS5 trigram table, PostgreSQL a side table with a pg_trgm GIN
index (when the extension can be had; otherwise a plain table). New invoices are indexed by
`fapiao.ledger.search_index.catch_up` (after an import, before a search, and in `serve`), not by an
insert trigger: a trigram index costs more per invoice than the rest of the import path together.
Updates and deletes of indexed rows are kept by triggers (they are rare).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE_TEXT = (
    "{r}.code || ' ' || {r}.number || ' ' || {r}.seller_name || ' ' || {r}.seller_tax_id || ' ' || "
    "{r}.buyer_name || ' ' || {r}.buyer_tax_id || ' ' || coalesce((SELECT group_concat("
    "json_extract(value, '$.name'), ' ') FROM json_each({r}.doc, '$.items')), '')"
)
PG_TEXT = (
    "NEW.code || ' ' || NEW.number || ' ' || NEW.seller_name || ' ' || NEW.seller_tax_id || ' ' || "
    "NEW.buyer_name || ' ' || NEW.buyer_tax_id || ' ' || coalesce((SELECT string_agg("
    "x->>'name', ' ') FROM jsonb_array_elements((NEW.doc)::jsonb->'items') x), '')"
)
WATCHED = "seller_name, seller_tax_id, buyer_name, buyer_tax_id, code, number, doc"


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("disabled", sa.Integer(), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "user_tenants",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_tenants_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_user_tenants_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("user_id", "tenant_id", name=op.f("pk_user_tenants")),
    )
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("expires_at", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_sessions")),
    )
    op.create_index(op.f("ix_sessions_user_id"), "sessions", ["user_id"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("revoked_at", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"])
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("ok", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index(op.f("ix_login_attempts_ip_at"), "login_attempts", ["ip", "at"])
    op.create_index("ix_invoices_issue_date_id", "invoices", ["issue_date", "id"])
    if op.get_bind().dialect.name == "postgresql":
        _search_postgresql()
    else:
        _search_sqlite()
    op.execute("CREATE TABLE search_index_mark (id INTEGER PRIMARY KEY, last_id BIGINT NOT NULL)")
    op.execute("INSERT INTO search_index_mark (id, last_id) VALUES (1, 0)")


def _search_sqlite() -> None:
    op.execute("CREATE VIRTUAL TABLE invoice_fts USING fts5(text, tokenize='trigram')")
    new = SQLITE_TEXT.format(r="NEW")
    op.execute(
        f"CREATE TRIGGER invoices_fts_update AFTER UPDATE OF {WATCHED} ON invoices BEGIN "
        "DELETE FROM invoice_fts WHERE rowid = OLD.id; "
        f"INSERT INTO invoice_fts(rowid, text) VALUES (NEW.id, {new}); END"
    )
    op.execute(
        "CREATE TRIGGER invoices_fts_delete AFTER DELETE ON invoices BEGIN "
        "DELETE FROM invoice_fts WHERE rowid = OLD.id; END"
    )


def _search_postgresql() -> None:
    bind = op.get_bind()
    op.execute(
        "CREATE TABLE invoice_search (invoice_id BIGINT PRIMARY KEY REFERENCES invoices(id), "
        "text TEXT NOT NULL)"
    )
    op.execute(
        "CREATE FUNCTION invoice_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"INSERT INTO invoice_search(invoice_id, text) VALUES (NEW.id, {PG_TEXT}) "
        "ON CONFLICT (invoice_id) DO UPDATE SET text = EXCLUDED.text; RETURN NEW; END $$"
    )
    op.execute(
        f"CREATE TRIGGER invoices_search AFTER UPDATE OF {WATCHED} ON invoices "
        "FOR EACH ROW EXECUTE FUNCTION invoice_search_sync()"
    )
    has_trgm = False
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
    except sa.exc.DBAPIError:
        pass
    has_trgm = bool(
        bind.exec_driver_sql(
            "SELECT 1 FROM pg_opclass c JOIN pg_namespace n ON n.oid = c.opcnamespace "
            "WHERE c.opcname = 'gin_trgm_ops' AND n.nspname = 'public'"
        ).first()
    )
    if has_trgm:
        op.execute(
            "CREATE INDEX ix_invoice_search_trgm ON invoice_search "
            "USING gin (text public.gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS invoices_search ON invoices")
        op.execute("DROP FUNCTION IF EXISTS invoice_search_sync()")
        op.execute("DROP TABLE IF EXISTS invoice_search")
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS invoices_fts_{name}")
        op.execute("DROP TABLE IF EXISTS invoice_fts")
    op.execute("DROP TABLE IF EXISTS search_index_mark")
    op.drop_index("ix_invoices_issue_date_id", table_name="invoices")
    for table in ("login_attempts", "api_tokens", "sessions", "user_tenants", "users"):
        op.drop_table(table)
