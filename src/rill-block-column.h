/* rill-block-column.h: a vertical box of a reply's blocks that draws only
 * the blocks in view. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define RILL_TYPE_BLOCK_COLUMN (rill_block_column_get_type ())

G_DECLARE_FINAL_TYPE (RillBlockColumn, rill_block_column, RILL, BLOCK_COLUMN, GtkBox)

G_END_DECLS
