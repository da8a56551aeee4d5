/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-window-private.h: shared between rill-window.c, rill-window-actions.c
 * and the tests. The window holds the layout and coordinates its pages:
 * each page owns its own state. */
#pragma once

#include "rill-composer.h"
#include "rill-conversation-view.h"
#include "rill-model-picker.h"
#include "rill-sidebar.h"
#include "rill-window.h"

G_BEGIN_DECLS

struct _RillWindow
{
  AdwApplicationWindow  parent_instance;

  /* Template widgets */
  AdwToastOverlay      *toast_overlay;
  AdwFlap              *flap;
  RillSidebar          *sidebar;
  AdwWindowTitle       *window_title;
  RillModelPicker      *model_picker;
  GtkRevealer          *banner_revealer;
  GtkLabel             *banner_label;
  RillConversationView *conversation_view;
  RillComposer         *composer;

  /* Owned */
  RillSession          *session;
  GCancellable         *cancellable;
  char                 *pending_model;     /* chosen before the conversation exists */
  char                 *pending_text;      /* sent while the conversation is created */
  RillPreset           *pending_preset;    /* the new conversation starts from it */

  /* Borrowed: the toast overlay owns it while it is shown */
  AdwToast             *delete_toast;

  gint64                pending_delete_id;
  GPtrArray            *loop_tools;        /* RillOfferedTool of the tool loop, or NULL */
  guint                 loop_steps;        /* runs since the person sent or continued */
  gint64                tools_for_id;
  int                   tools_for;         /* RillWindowToolsFor */
  guint                 collecting : 1;    /* the tools are being gathered */
  guint                 tools_ready : 1;   /* gathered for the action redone now */
  guint                 creating : 1;
  guint                 send_when_open : 1;  /* sent before the history was open */
  guint                 waiting_banner : 1;  /* the banner says the history is held */
};

typedef enum {
  RILL_WINDOW_TOOLS_FOR_SEND,
  RILL_WINDOW_TOOLS_FOR_REGENERATE,
  RILL_WINDOW_TOOLS_FOR_CONTINUE,
} RillWindowToolsFor;

void            _rill_window_class_actions_init (RillWindowClass *klass);
void            _rill_window_start_reply        (RillWindow      *self,
                                                 gint64           conversation_id,
                                                 const char      *user_text,
                                                 gint64           version_of);
/* rill-window-tools.c. FALSE when the tools of the conversation are being
 * gathered first: @what (with the message @id) is done again once they are. */
gboolean        _rill_window_tools_ensure       (RillWindow        *self,
                                                 RillWindowToolsFor what,
                                                 gint64             id);
void            _rill_window_tools_fill_options (RillWindow       *self,
                                                 RillReplyOptions *options);
void            _rill_window_tools_reply_finished (RillWindow    *self,
                                                   RillReply     *reply);
void            _rill_window_tools_run_finished (RillWindow      *self,
                                                 RillToolRun     *run);
void            _rill_window_update_actions     (RillWindow      *self);
void            _rill_window_toast              (RillWindow      *self,
                                                 const char      *text);
void            _rill_window_show_banner        (RillWindow      *self,
                                                 const char      *text);
RillStore      *_rill_window_get_store          (RillWindow      *self);
gint64          _rill_window_get_conversation_id (RillWindow     *self);
void            _rill_window_send               (RillWindow      *self);
void            _rill_window_stop               (RillWindow      *self);
void            _rill_window_new_conversation   (RillWindow      *self);
void            _rill_window_new_conversation_from_preset (RillWindow *self,
                                                           const char *name);
void            _rill_window_create_conversation (RillWindow         *self,
                                                  GAsyncReadyCallback callback);
void            _rill_window_regenerate_from    (RillWindow      *self,
                                                 RillMessageRow  *row);
void            _rill_window_continue           (RillWindow      *self);
void            _rill_window_edit               (RillWindow      *self,
                                                 RillMessageRow  *row);

G_END_DECLS
