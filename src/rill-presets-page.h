/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-presets-page.h: the Presets page of the preferences. */
#pragma once

#include <adwaita.h>

#include "rill-core.h"

G_BEGIN_DECLS

#define RILL_TYPE_PRESETS_PAGE (rill_presets_page_get_type ())
G_DECLARE_FINAL_TYPE (RillPresetsPage, rill_presets_page, RILL, PRESETS_PAGE, AdwPreferencesPage)

/* Lists the session's presets, each with Edit and Remove, and adds new
 * ones, in the "presets" setting. */
GtkWidget *rill_presets_page_new (RillSession *session);

G_END_DECLS
