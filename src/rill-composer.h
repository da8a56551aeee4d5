/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-composer.h: where the person writes: the message, Send and Stop,
 * the notice while a message is being edited, and the files attached. */
#pragma once

#include <adwaita.h>

#include "rill-attachment.h"

G_BEGIN_DECLS

#define RILL_TYPE_COMPOSER (rill_composer_get_type ())
G_DECLARE_FINAL_TYPE (RillComposer, rill_composer, RILL, COMPOSER, AdwBin)

/* Signals: "send" (Return or the Send button) and "stop" (the Stop button),
 * no arguments. Properties: "busy" (a reply streams here: the button
 * stops it and Return sends nothing), "can-send", "editing-message-id",
 * "loading-attachments" (a file is still being read: nothing is sent). */
char       *rill_composer_dup_text                (RillComposer               *self);
void        rill_composer_set_text                (RillComposer               *self,
                                                   const char                 *text);
/* Shows @text for editing the message @message_id; sending replaces it. */
void        rill_composer_edit                    (RillComposer               *self,
                                                   gint64                      message_id,
                                                   const char                 *text);
/* Leaves edit mode; @clear_text empties the composer too. */
void        rill_composer_cancel_edit             (RillComposer               *self,
                                                   gboolean                    clear_text);
gint64      rill_composer_get_editing_message_id  (RillComposer               *self);
void        rill_composer_set_busy                (RillComposer               *self,
                                                   gboolean                    busy);
void        rill_composer_set_can_send            (RillComposer               *self,
                                                   gboolean                    can_send);

/* Attachments: the Attach button, dropping and pasting files. Each file
 * gets a chip at once and is read off the main thread; a file that is
 * refused leaves a message naming it, and no chip. */
void        rill_composer_attach_file             (RillComposer               *self,
                                                   GFile                      *file);
/* @files: a list of GFile, as the file chooser gives it. */
void        rill_composer_attach_files            (RillComposer               *self,
                                                   GListModel                 *files);
/* The attachments read and ready, in the order of their chips: a list of
 * RillAttachment that changes as they come and go. */
GListModel *rill_composer_get_attachments         (RillComposer               *self);
gboolean    rill_composer_get_loading_attachments (RillComposer               *self);
/* Removes every chip (after a send) and the messages about refusals. */
void        rill_composer_clear_attachments       (RillComposer               *self);
/* The Tools button (a RillToolsButton): the window gives it the session
 * and the conversation ("session", "conversation-id"). */
GtkWidget  *rill_composer_get_tools_button        (RillComposer               *self);
/* For what is attached from now on. */
void        rill_composer_set_attachment_limits   (RillComposer               *self,
                                                   const RillAttachmentLimits *limits);

G_END_DECLS
