/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-block-widget.h: the widget for one finished block of a message. */
#pragma once

#include <gtk/gtk.h>

#include "rill-markdown.h"

G_BEGIN_DECLS

/* Text is cut into Pango items of about this many bytes, so that laying out
 * a long paragraph costs its length, not its length squared. */
#define RILL_BLOCK_ITEM_BYTES 96

/* A fenced code block: @code without its fences, @language or NULL. With
 * @continues, a piece after the first of a long block: no header. Copy
 * copies the whole block through the row's action from @source_start. */
GtkWidget *rill_block_widget_new_code (const char    *code,
                                       gsize          len,
                                       const char    *language,
                                       gboolean       continues,
                                       gint64         source_start);
/* Prose: Markdown through md4c when @markdown (a reply): paragraphs,
 * headings, lists, quotes, tables, math; else the text as typed (the
 * person's own message). */
GtkWidget *rill_block_widget_new_text (const char    *text,
                                       gsize          len,
                                       RillBlockKind  kind,
                                       gboolean       markdown);

G_END_DECLS
