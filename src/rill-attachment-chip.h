/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-attachment-chip.h: one attachment above the composer: a thumbnail
 * or a file icon, the name, what it is, and a button that removes it.
 * While the file is read it shows a spinner (after a moment: a quick load
 * does not flash one). */
#pragma once

#include <adwaita.h>

#include "rill-attachment.h"

G_BEGIN_DECLS

#define RILL_TYPE_ATTACHMENT_CHIP (rill_attachment_chip_get_type ())
G_DECLARE_FINAL_TYPE (RillAttachmentChip, rill_attachment_chip, RILL, ATTACHMENT_CHIP, AdwBin)

/* Signal: "remove", no arguments (the remove button). Properties: "name",
 * "attachment" (NULL while loading), "loading". */
RillAttachmentChip *rill_attachment_chip_new                (const char         *name);
const char         *rill_attachment_chip_get_name           (RillAttachmentChip *self);
RillAttachment     *rill_attachment_chip_get_attachment     (RillAttachmentChip *self);
void                rill_attachment_chip_set_attachment     (RillAttachmentChip *self,
                                                             RillAttachment     *attachment);
gboolean            rill_attachment_chip_get_loading        (RillAttachmentChip *self);
/* Cancels the load of this chip's file: cancelled when it is removed. */
GCancellable       *rill_attachment_chip_get_cancellable    (RillAttachmentChip *self);
/* The line under the name ("Scaled from 4000 × 3000"), and the remove
 * button, for the tests. */
const char         *_rill_attachment_chip_get_detail        (RillAttachmentChip *self);
GtkButton          *_rill_attachment_chip_get_remove_button (RillAttachmentChip *self);

/* A stored attachment, opened or saved from a message. Opening writes the
 * bytes to a file of the app's own cache (a sandbox may not see the file
 * the person attached, and may see nothing else of theirs either) and
 * hands it to the default application; saving asks where, through the
 * file chooser portal. @parent: a widget of the window they belong to. */
void                rill_attachment_open_stored             (GtkWidget          *parent,
                                                             const char         *name,
                                                             const char         *sha256,
                                                             GBytes             *data);
void                rill_attachment_save_stored             (GtkWidget          *parent,
                                                             const char         *name,
                                                             GBytes             *data);
/* Where rill_attachment_open_stored() writes the file, for the tests. */
char               *_rill_attachment_open_path              (const char         *name,
                                                             const char         *sha256);

G_END_DECLS
