/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-trash-view.h: the conversations in the trash, each with Restore and
 * Delete Forever, and Empty Trash (which asks first). A page of the
 * sidebar. */
#pragma once

#include <adwaita.h>

#include "rill-core.h"

G_BEGIN_DECLS

#define RILL_TYPE_TRASH_VIEW (rill_trash_view_get_type ())
G_DECLARE_FINAL_TYPE (RillTrashView, rill_trash_view, RILL, TRASH_VIEW, GtkBox)

/* Properties: "store" (follows its "trash-changed"). Signals: "back" (the
 * back button), "add-toast (AdwToast *toast)" (a write that failed).
 * Actions: "trash.restore" and "trash.delete-forever" (int64 conversation
 * id), "trash.empty". */
GListModel *rill_trash_view_get_conversations (RillTrashView *self);

G_END_DECLS
