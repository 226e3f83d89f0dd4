-- 0006: teams by name.

-- Teams are named by applications (user queries filter by team name, and the server-side teams
-- API gets-or-creates them by name), so a name is unique within its application. This makes
-- concurrent creation of the same team race-free.
CREATE UNIQUE INDEX idx_teams_app_name ON teams(app_id, name);
