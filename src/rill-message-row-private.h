/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-message-row-private.h: what the tests and the window benchmark
 * read of a row. */
#pragma once

#include "rill-message-row.h"

G_BEGIN_DECLS

/* What is on screen, as text: finished blocks and the live tail. Equal to
 * the source once the row caught up; for tests. */
char           *_rill_message_row_dup_shown_text  (RillMessageRow *self);
/* Whether every block in the scrolled window's view is laid out and drawn,
 * not waiting as a placeholder. */
gboolean        _rill_message_row_is_drawn         (RillMessageRow *self);
/* What the reply cost, as shown under it; NULL when nothing is shown. */
const char     *_rill_message_row_get_cost_text   (RillMessageRow *self);
GtkTextBuffer  *_rill_message_row_get_tail_buffer (RillMessageRow *self);
/* Shows @text (a longer prefix of the reply each time) as a streaming
 * reply's tick would; for tests. */
void            _rill_message_row_feed            (RillMessageRow *self,
                                                   const char     *text,
                                                   gsize           len,
                                                   gboolean        at_end);
/* The button under a reply that did not complete (Retry or Continue), or
 * NULL when it is not shown; for tests. */
GtkButton      *_rill_message_row_get_problem_button (RillMessageRow *self);
/* The switcher's button for @offset -1 (previous) or 1 (next). */
GtkWidget      *_rill_message_row_get_version_button (RillMessageRow *self,
                                                      int             offset);

G_END_DECLS
