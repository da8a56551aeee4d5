/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "rill-records.h"

G_BEGIN_DECLS

/* Filled by the store only. */
struct _RillConversation
{
  GObject parent_instance;
  gint64  id;
  char   *title;
  char   *model;
  char   *system_prompt;
  gint64  created_at;
  gint64  updated_at;
  char   *uid;
  gint64  deleted_at;  /* 0 when not in the trash */
  char   *server;      /* the server's id, NULL until the first reply */
  char   *server_url;  /* its address without user info */
  char   *tools;       /* conversations.tools: a RillToolChoice's JSON, or NULL */
  /* The copy of the preset it started from (rill-preset.h). */
  char    *preset;
  gboolean has_temperature;
  double   temperature;   /* when has_temperature; < 0: the server's default */
  gint64   history_limit; /* -1: the preferences' */
};

struct _RillMessage
{
  GObject    parent_instance;
  gint64     id;
  gint64     conversation_id;
  RillRole   role;
  RillStatus status;
  char      *content;
  char      *reasoning;
  char      *error;
  char      *model;
  char      *finish_reason;
  char      *request;
  char      *usage;
  gint64     prompt_tokens;
  gint64     completion_tokens;
  gint64     created_at;
  gint64     finished_at;
  gint64     parent_id;  /* 0 for the first message */
  char      *uid;
  guint      version;    /* 1-based among its versions; 0 when not read */
  guint      n_versions;
  gint64     ttft_ms;        /* -1 when unknown */
  gint64     generation_ms;  /* -1 when unknown */
  char      *tool_calls;   /* JSON, as stored */
  GPtrArray *tool_call_list; /* the same parsed, RillToolCall */
  char      *tool_call_id;
  char      *tool_server;
  char      *tool_name;
};

/* Sets tool_calls and the parsed list, from the store's row. */
void _rill_message_take_tool_calls (RillMessage *self,
                                    char        *json);

G_END_DECLS
