/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-composer-private.h: the composer's parts, for the tests. */
#pragma once

#include "rill-attachment-chip.h"
#include "rill-composer.h"

G_BEGIN_DECLS

GtkTextView        *_rill_composer_get_text_view       (RillComposer *self);
GtkButton          *_rill_composer_get_send_button     (RillComposer *self);
GtkRevealer        *_rill_composer_get_edit_revealer   (RillComposer *self);
GtkButton          *_rill_composer_get_attach_button   (RillComposer *self);
/* The row of chips (shown when there is one), and the chip at @index. */
GtkWidget          *_rill_composer_get_chips           (RillComposer *self);
RillAttachmentChip *_rill_composer_get_chip            (RillComposer *self,
                                                        guint         index);
GtkLabel           *_rill_composer_get_error_label     (RillComposer *self);
/* What a paste of an image does with its bytes. */
void                _rill_composer_attach_bytes        (RillComposer *self,
                                                        GBytes       *bytes,
                                                        const char   *name);

G_END_DECLS
