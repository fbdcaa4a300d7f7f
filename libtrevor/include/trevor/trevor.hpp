#pragma once
// The whole public API of libtrevor.
#include "trevor/audit.hpp"
#include "trevor/database.hpp"
#include "trevor/database_url.hpp"
#include "trevor/enums.hpp"
#include "trevor/environment.hpp"
#include "trevor/error.hpp"
#include "trevor/migrate.hpp"
#include "trevor/model.hpp"
#include "trevor/time.hpp"
#include "trevor/uuid.hpp"
#include "trevor/version.hpp"
