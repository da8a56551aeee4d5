/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-sidebar-private.h: the sidebar's parts, for the tests. */
#pragma once

#include "rill-sidebar.h"

G_BEGIN_DECLS

GListModel     *_rill_sidebar_get_results           (RillSidebar *self);
GtkStack       *_rill_sidebar_get_stack             (RillSidebar *self);
GtkListView    *_rill_sidebar_get_conversation_view (RillSidebar *self);
GtkListView    *_rill_sidebar_get_results_view      (RillSidebar *self);
GtkSearchEntry *_rill_sidebar_get_search_entry      (RillSidebar *self);

G_END_DECLS
