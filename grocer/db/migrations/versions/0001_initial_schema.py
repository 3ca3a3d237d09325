"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa
import grocer.db.models
from sqlalchemy.dialects import mysql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('brand',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('normalized_name', sa.String(length=255).with_variant(mysql.VARCHAR(charset='utf8mb4', collation='utf8mb4_bin', length=255), 'mariadb').with_variant(mysql.VARCHAR(charset='utf8mb4', collation='utf8mb4_bin', length=255), 'mysql'), nullable=False),
    sa.Column('name_variations', sa.JSON(), nullable=False),
    sa.Column('normalized_name_variations', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_brand')),
    sa.UniqueConstraint('normalized_name', name=op.f('uq_brand_normalized_name'))
    )
    op.create_table('company',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('image_url_template', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_company')),
    sa.UniqueConstraint('name', name=op.f('uq_company_name')),
    sa.UniqueConstraint('slug', name=op.f('uq_company_slug'))
    )
    op.create_table('crawl_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('spider', sa.String(length=50), nullable=False),
    sa.Column('stores', sa.JSON(), nullable=False),
    sa.Column('stores_completed', sa.JSON(), nullable=False),
    sa.Column('started_at', grocer.db.models.UTCDateTime(), nullable=True),
    sa.Column('finished_at', grocer.db.models.UTCDateTime(), nullable=True),
    sa.Column('close_reason', sa.String(length=100), nullable=True),
    sa.Column('reconciled', sa.Boolean(), nullable=False),
    sa.Column('store_stats', sa.JSON(), nullable=False),
    sa.Column('stats', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crawl_run'))
    )
    with op.batch_alter_table('crawl_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crawl_run_finished_at'), ['finished_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_crawl_run_spider'), ['spider'], unique=False)

    op.create_table('division',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('external_id', sa.String(length=50), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_division_company_id_company'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_division')),
    sa.UniqueConstraint('company_id', 'name', name=op.f('uq_division_company_id_name'))
    )
    op.create_table('product',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=True),
    sa.Column('size', sa.String(length=100), nullable=True),
    sa.Column('sizes', sa.JSON(), nullable=False),
    sa.Column('normalized_name_brand_size', sa.String(length=255).with_variant(mysql.VARCHAR(charset='utf8mb4', collation='utf8mb4_bin', length=255), 'mariadb').with_variant(mysql.VARCHAR(charset='utf8mb4', collation='utf8mb4_bin', length=255), 'mysql'), nullable=False),
    sa.Column('key_version', sa.Integer(), nullable=False),
    sa.Column('barcode', sa.String(length=50).with_variant(mysql.VARCHAR(charset='utf8mb4', collation='utf8mb4_bin', length=50), 'mariadb').with_variant(mysql.VARCHAR(charset='utf8mb4', collation='utf8mb4_bin', length=50), 'mysql'), nullable=True),
    sa.Column('url', sa.String(length=1024), nullable=True),
    sa.Column('image_url', sa.String(length=1024), nullable=True),
    sa.Column('aldi_image_url', sa.String(length=1024), nullable=True),
    sa.Column('has_no_coles_barcode', sa.Boolean(), nullable=False),
    sa.Column('brand_name_company_pairs', sa.JSON(), nullable=False),
    sa.Column('category_paths', sa.JSON(), nullable=False),
    sa.Column('created_at', grocer.db.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], name=op.f('fk_product_brand_id_brand'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product')),
    sa.UniqueConstraint('barcode', name=op.f('uq_product_barcode')),
    sa.UniqueConstraint('normalized_name_brand_size', name=op.f('uq_product_normalized_name_brand_size'))
    )
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_brand_id'), ['brand_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_product_name'), ['name'], unique=False)

    op.create_table('product_key_variation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255).with_variant(mysql.VARCHAR(charset='utf8mb4', collation='utf8mb4_bin', length=255), 'mariadb').with_variant(mysql.VARCHAR(charset='utf8mb4', collation='utf8mb4_bin', length=255), 'mysql'), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_product_key_variation_product_id_product'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_key_variation')),
    sa.UniqueConstraint('key', name=op.f('uq_product_key_variation_key'))
    )
    with op.batch_alter_table('product_key_variation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_key_variation_product_id'), ['product_id'], unique=False)

    op.create_table('sku',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=100).with_variant(mysql.VARCHAR(charset='utf8mb4', collation='utf8mb4_bin', length=100), 'mariadb').with_variant(mysql.VARCHAR(charset='utf8mb4', collation='utf8mb4_bin', length=100), 'mysql'), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_sku_company_id_company'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_sku_product_id_product'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sku')),
    sa.UniqueConstraint('company_id', 'sku', name=op.f('uq_sku_company_id_sku'))
    )
    with op.batch_alter_table('sku', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sku_product_id'), ['product_id'], unique=False)

    op.create_table('store',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('division_id', sa.Integer(), nullable=True),
    sa.Column('store_code', sa.String(length=50).with_variant(mysql.VARCHAR(charset='utf8mb4', collation='utf8mb4_bin', length=50), 'mariadb').with_variant(mysql.VARCHAR(charset='utf8mb4', collation='utf8mb4_bin', length=50), 'mysql'), nullable=False),
    sa.Column('site_store_id', sa.String(length=50), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('address', sa.String(length=255), nullable=True),
    sa.Column('suburb', sa.String(length=100), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=True),
    sa.Column('postcode', sa.String(length=10), nullable=True),
    sa.Column('latitude', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('longitude', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('last_crawled_at', grocer.db.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_store_company_id_company'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['division_id'], ['division.id'], name=op.f('fk_store_division_id_division'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_store')),
    sa.UniqueConstraint('company_id', 'store_code', name=op.f('uq_store_company_id_store_code'))
    )
    with op.batch_alter_table('store', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_store_division_id'), ['division_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_store_last_crawled_at'), ['last_crawled_at'], unique=False)

    op.create_table('price',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('last_seen', grocer.db.models.UTCDateTime(), nullable=False),
    sa.Column('delisted_at', grocer.db.models.UTCDateTime(), nullable=True),
    sa.Column('price', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('was_price', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('unit_price', sa.Numeric(precision=12, scale=4), nullable=True),
    sa.Column('unit_of_measure', sa.String(length=50), nullable=True),
    sa.Column('per_unit_price_string', sa.String(length=255), nullable=True),
    sa.Column('is_on_special', sa.Boolean(), nullable=False),
    sa.Column('is_available', sa.Boolean(), nullable=True),
    sa.Column('price_hash', sa.String(length=64), nullable=False),
    sa.Column('scraped_at', grocer.db.models.UTCDateTime(), nullable=False),
    sa.Column('scraped_date', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_price_product_id_product'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_price_store_id_store'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price')),
    sa.UniqueConstraint('product_id', 'store_id', name=op.f('uq_price_product_id_store_id'))
    )
    with op.batch_alter_table('price', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_price_scraped_date'), ['scraped_date'], unique=False)
        batch_op.create_index('ix_price_store_id_product_id', ['store_id', 'product_id'], unique=False)

    op.create_table('price_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('price', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('was_price', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('unit_price', sa.Numeric(precision=12, scale=4), nullable=True),
    sa.Column('unit_of_measure', sa.String(length=50), nullable=True),
    sa.Column('per_unit_price_string', sa.String(length=255), nullable=True),
    sa.Column('is_on_special', sa.Boolean(), nullable=False),
    sa.Column('is_available', sa.Boolean(), nullable=True),
    sa.Column('price_hash', sa.String(length=64), nullable=False),
    sa.Column('scraped_at', grocer.db.models.UTCDateTime(), nullable=False),
    sa.Column('scraped_date', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_price_history_product_id_product'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_price_history_store_id_store'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_history'))
    )
    with op.batch_alter_table('price_history', schema=None) as batch_op:
        batch_op.create_index('ix_price_history_product_store_time', ['product_id', 'store_id', 'scraped_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_price_history_scraped_date'), ['scraped_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_price_history_store_id'), ['store_id'], unique=False)



def downgrade() -> None:
    # Dropping a table drops its indexes (MySQL refuses to drop an index a foreign key uses).
    op.drop_table('price_history')
    op.drop_table('price')
    op.drop_table('store')
    op.drop_table('sku')
    op.drop_table('product_key_variation')
    op.drop_table('product')
    op.drop_table('division')
    op.drop_table('crawl_run')
    op.drop_table('company')
    op.drop_table('brand')
