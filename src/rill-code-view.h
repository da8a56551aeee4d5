/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-code-view.h: a fenced code block, highlighted by GtkSourceView. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* The GtkSourceView language id for a fence's language (aliases such as py,
 * js, sh, c++ or yml included), or for @code itself when the fence names
 * none; NULL when there is none. */
const char *rill_code_view_language_id (const char *fence_language,
                                        const char *code,
                                        gsize       len);

/* A code block: @code without its fences. With @header, a header names the
 * language and has "Copy"; a piece that continues a long block has none.
 * @source_start is where the block starts in the message, for the row's
 * "message.copy-code" action, which copies every piece; with -1, or outside
 * a row, Copy copies @code. */
GtkWidget  *rill_code_view_new         (const char *code,
                                        gsize       len,
                                        const char *language,
                                        gboolean    header,
                                        gint64      source_start);
/* The GtkSourceView inside a code block widget; for tests. */
GtkWidget  *rill_code_view_get_view    (GtkWidget  *code_block);

G_END_DECLS
