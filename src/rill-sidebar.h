/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-sidebar.h: the conversations, search over every message, and the
 * Trash. */
#pragma once

#include <adwaita.h>

#include "rill-core.h"

G_BEGIN_DECLS

#define RILL_TYPE_SIDEBAR (rill_sidebar_get_type ())
G_DECLARE_FINAL_TYPE (RillSidebar, rill_sidebar, RILL, SIDEBAR, GtkBox)

/* Properties: "session", "conversation-id" (the one shown, selected in the
 * list); the list follows the store's change signals. Signals:
 * "conversation-activated (gint64 conversation_id, gint64 message_id)"
 * (message_id 0: the end), "add-toast (AdwToast *toast)". */
void        rill_sidebar_set_conversation_id  (RillSidebar *self,
                                               gint64       conversation_id);
/* Searches for @query now, shows the results and focuses the entry. */
void        rill_sidebar_search               (RillSidebar *self,
                                               const char  *query);
/* Focuses the search entry with its text selected. */
void        rill_sidebar_focus_search         (RillSidebar *self);
/* Hides one conversation until it is deleted or shown again (undo). */
void        rill_sidebar_hide_conversation    (RillSidebar *self,
                                               gint64       conversation_id);
void        rill_sidebar_unhide_conversation  (RillSidebar *self);
/* Shows the Trash page (TRUE) or the conversations (FALSE). */
void        rill_sidebar_show_trash           (RillSidebar *self,
                                               gboolean     show);
/* The conversations listed, newest first (NULL without a store). */
GListModel *rill_sidebar_get_conversations    (RillSidebar *self);

G_END_DECLS
