/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-sidebar-private.h: the sidebar's parts, for the tests. */
#pragma once

#include "rill-sidebar.h"
#include "rill-trash-view.h"

G_BEGIN_DECLS

GListModel     *_rill_sidebar_get_results           (RillSidebar *self);
GtkStack       *_rill_sidebar_get_stack             (RillSidebar *self);
GtkListView    *_rill_sidebar_get_conversation_view (RillSidebar *self);
GtkListView    *_rill_sidebar_get_results_view      (RillSidebar *self);
GtkSearchEntry *_rill_sidebar_get_search_entry      (RillSidebar *self);
RillTrashView  *_rill_sidebar_get_trash_view        (RillSidebar *self);
/* "main" or "trash" */
GtkStack       *_rill_sidebar_get_pages             (RillSidebar *self);

G_END_DECLS
