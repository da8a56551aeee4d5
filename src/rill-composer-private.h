/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-composer-private.h: the composer's parts, for the tests. */
#pragma once

#include "rill-composer.h"

G_BEGIN_DECLS

GtkTextView *_rill_composer_get_text_view   (RillComposer *self);
GtkButton   *_rill_composer_get_send_button (RillComposer *self);
GtkRevealer *_rill_composer_get_edit_revealer (RillComposer *self);

G_END_DECLS
