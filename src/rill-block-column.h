/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-block-column.h: a vertical box of a reply's blocks that draws only
 * the blocks in view and lays out, lazily, blocks that arrive out of view. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define RILL_TYPE_BLOCK_COLUMN (rill_block_column_get_type ())

G_DECLARE_FINAL_TYPE (RillBlockColumn, rill_block_column, RILL, BLOCK_COLUMN, GtkBox)

/* A stand-in for a block, as tall as its text is likely to be: @n_chars
 * characters wrapped at the column's width, or @n_lines lines of code when
 * @monospace. The column emits "realize-block" with it when it comes near
 * the view, or when the main loop is idle; the handler replaces it with
 * rill_block_column_replace(). @data is kept with it. */
GtkWidget *rill_block_column_add_placeholder (RillBlockColumn *self,
                                              GtkWidget       *before,
                                              guint            n_chars,
                                              guint            n_lines,
                                              gboolean         monospace,
                                              gpointer         data,
                                              GDestroyNotify   destroy);
gpointer   rill_block_column_get_placeholder_data (GtkWidget *placeholder);
gboolean   rill_block_column_is_placeholder  (GtkWidget       *widget);
void       rill_block_column_replace         (RillBlockColumn *self,
                                              GtkWidget       *placeholder,
                                              GtkWidget       *block);
/* Whether every block that meets the scrolled window's view is drawn. */
gboolean   rill_block_column_is_drawn        (RillBlockColumn *self);
/* How tall a block of @n_chars characters (or @n_lines lines of code when
 * @monospace) is likely to be at the column's width, in pixels. */
int        rill_block_column_estimate_height (RillBlockColumn *self,
                                              guint            n_chars,
                                              guint            n_lines,
                                              gboolean         monospace);
/* The scrolled window's view height, or 0 when not in one. */
int        rill_block_column_get_view_height (RillBlockColumn *self);

G_END_DECLS
